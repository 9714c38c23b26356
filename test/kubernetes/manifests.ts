import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IContainer, IContainerPort, IPodTemplateSpec } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

type ObjectMeta = NonNullable<IDeployment['metadata']>;
export type LabelSelector = NonNullable<IDeployment['spec']>['selector'];

export const KUSTOMIZE_ROOT = join(__dirname, '..', '..', 'deploy', 'kubernetes');
export const OVERLAYS = ['quickstart', 'production'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** A rendered object, loosely typed: each check narrows the kinds it reads. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function parseManifests(text: string, source: string): Manifest[] {
  return parseAllDocuments(text).map((document) => {
    if (document.errors.length > 0) throw new Error(`${source}: ${document.errors[0].message}`);
    return document.toJS() as Manifest;
  });
}

/** What `kubectl apply -k` would send for an overlay, as `kubectl kustomize` renders it. */
export function renderOverlay(overlay: Overlay): Manifest[] {
  const directory = join(KUSTOMIZE_ROOT, 'overlays', overlay);
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', directory], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    throw new Error(
      `kubectl kustomize ${directory} failed (install kubectl: apt-get install -y kubectl): ${stderr || message}`,
    );
  }
  return parseManifests(text, `kubectl kustomize ${overlay}`);
}

/** The overlay's example Secret, which is kept out of the rendering and never applied. */
export function exampleSecret(overlay: Overlay): Manifest {
  const file = join(KUSTOMIZE_ROOT, 'overlays', overlay, 'secret.example.yaml');
  const [secret] = parseManifests(readFileSync(file, 'utf8'), file);
  return secret;
}

export const nameOf = (manifest: Manifest) => `${manifest.kind} ${manifest.metadata.name}`;

/** Whether a label selector (matchLabels and matchExpressions) selects these labels; `{}` selects all. */
export function selects(selector: LabelSelector | undefined, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  return (
    byLabels &&
    (selector.matchExpressions ?? []).every(({ key, operator, values = [] }) => {
      switch (operator) {
        case 'In':
          return key in labels && values.includes(labels[key]);
        case 'NotIn':
          return !(key in labels) || !values.includes(labels[key]);
        case 'Exists':
          return key in labels;
        case 'DoesNotExist':
          return !(key in labels);
        default:
          return false;
      }
    })
  );
}

/** The pods an object runs: a Deployment's, a StatefulSet's or a Job's template. */
export interface PodTemplate {
  owner: Manifest;
  namespace: string | undefined;
  /** The pod's `app.kubernetes.io/name`, which names it in the checks' reports. */
  name: string;
  labels: Record<string, string>;
  template: IPodTemplateSpec;
}

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job'];

export function podTemplates(manifests: Manifest[]): PodTemplate[] {
  return manifests
    .filter((manifest) => WORKLOAD_KINDS.includes(manifest.kind))
    .map((owner) => {
      const template = owner.spec.template as IPodTemplateSpec;
      const labels = template.metadata?.labels ?? {};
      return {
        owner,
        namespace: owner.metadata.namespace,
        name: labels['app.kubernetes.io/name'] ?? owner.metadata.name,
        labels,
        template,
      };
    });
}

export const containersOf = (pod: PodTemplate): IContainer[] => [
  ...(pod.template.spec?.initContainers ?? []),
  ...(pod.template.spec?.containers ?? []),
];

/** The container port a Service, probe or policy names (by name or number), if the container has it. */
export function containerPort(container: IContainer, port: number | string): IContainerPort | undefined {
  return (container.ports ?? []).find((p) =>
    typeof port === 'number' ? p.containerPort === port : p.name === port,
  );
}
