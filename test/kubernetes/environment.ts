/**
 * The platform's containers against the services' own configuration schemas: each container's
 * environment, as Kubernetes would assemble it, must pass the loader of the entry point it runs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1';
import { ConfigError } from '../../common/config/load-config';
import { gatewayEnv, loadGatewayConfig } from '../../gateway/config';
import { loadMigrationConfig, migrationEnv } from '../../scripts/platform/migrations';
import { authEnv, loadAuthConfig } from '../../subgraphs/auth/config';
import { chatEnv, loadChatConfig } from '../../subgraphs/chat/config';
import { conversationEnv, loadConversationConfig } from '../../subgraphs/conversation/config';
import {
  containerPort,
  containersOf,
  type Manifest,
  nameOf,
  type PodTemplate,
  podTemplates,
} from './manifests';

const ROOT = join(__dirname, '..', '..');
const IMAGE = 'llm-chat-supergraph';

interface EntryPoint {
  /** The variables the entry point reads (a zod shape keyed by name). */
  shape: Record<string, unknown>;
  load: (env: NodeJS.ProcessEnv) => object;
}

/** What each command of the image runs, with the loader that validates its environment at start. */
export const ENTRY_POINTS: Record<string, EntryPoint> = {
  'dist/gateway/main.js': { shape: gatewayEnv, load: loadGatewayConfig },
  'dist/subgraphs/auth/main.js': { shape: authEnv, load: loadAuthConfig },
  'dist/subgraphs/conversation/main.js': { shape: conversationEnv, load: loadConversationConfig },
  'dist/subgraphs/chat/main.js': { shape: chatEnv, load: loadChatConfig },
  'dist/scripts/migrate.js': { shape: migrationEnv, load: loadMigrationConfig },
};

export interface SecretValues {
  name: string;
  values: Record<string, string>;
}

/** The example Secret's values as given (placeholders and all). */
export function exampleValues(example: Manifest): SecretValues {
  return { name: example.metadata.name, values: { ...example.data, ...example.stringData } };
}

/**
 * The example Secret with each bare `REPLACE-ME` generated the way docs/kubernetes.md says
 * (`openssl rand -hex 32`), as an operator would create it.
 */
export function generatedValues(example: Manifest): SecretValues {
  const { name, values } = exampleValues(example);
  return {
    name,
    values: Object.fromEntries(
      Object.entries(values).map(([key, value]) => [
        key,
        value === 'REPLACE-ME' ? randomBytes(32).toString('hex') : value,
      ]),
    ),
  };
}

export const isPlatformContainer = (container: IContainer) =>
  container.image?.split('/').pop()?.split(':')[0] === IMAGE;

interface SecretReference {
  pod: PodTemplate;
  container: IContainer;
  name: string;
  key?: string;
  optional: boolean;
}

/** Every Secret a container reads, by key (env) or whole (envFrom). */
function secretReferences(manifests: Manifest[]): SecretReference[] {
  return podTemplates(manifests).flatMap((pod) =>
    containersOf(pod).flatMap((container) => [
      ...(container.env ?? []).flatMap(({ valueFrom }) =>
        valueFrom?.secretKeyRef
          ? [
              {
                pod,
                container,
                name: valueFrom.secretKeyRef.name ?? '',
                key: valueFrom.secretKeyRef.key,
                optional: valueFrom.secretKeyRef.optional === true,
              },
            ]
          : [],
      ),
      ...(container.envFrom ?? []).flatMap(({ secretRef }) =>
        secretRef
          ? [{ pod, container, name: secretRef.name ?? '', optional: secretRef.optional === true }]
          : [],
      ),
    ]),
  );
}

/**
 * Every Secret key a container reads is in the example (so the operator knows to create it), every
 * key of the example is read by something, and no container reads another Secret.
 */
export function secretKeyProblems(manifests: Manifest[], example: Manifest): string[] {
  const { name, values } = exampleValues(example);
  const references = secretReferences(manifests);
  const problems = references.flatMap((reference) => {
    const where = `${nameOf(reference.pod.owner)} container ${reference.container.name}`;
    if (reference.name !== name) return [`${where} reads Secret ${reference.name}, not ${name}`];
    if (reference.key !== undefined && !(reference.key in values))
      return [`${where} reads key ${reference.key}, which the example Secret lacks`];
    return [];
  });
  const read = new Set(references.map((reference) => reference.key));
  const unread = Object.keys(values).filter((key) => !read.has(key));
  return [...problems, ...unread.map((key) => `the example Secret's ${key} is read by no container`)];
}

/** The environment a container starts with: ConfigMaps from the rendering, Secret values as given. */
function containerEnvironment(
  pod: PodTemplate,
  container: IContainer,
  manifests: Manifest[],
  secret: SecretValues,
): { env: Record<string, string>; problems: string[] } {
  const where = `${nameOf(pod.owner)} container ${container.name}`;
  const problems: string[] = [];
  const configMap = (name: string | undefined) =>
    manifests.find(
      (manifest) =>
        manifest.kind === 'ConfigMap' &&
        manifest.metadata.name === name &&
        manifest.metadata.namespace === pod.namespace,
    )?.data;
  const fromSecret = (name: string | undefined) => (name === secret.name ? secret.values : undefined);
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const data = source.configMapRef ? configMap(ref?.name) : fromSecret(ref?.name);
    if (data) Object.assign(env, data);
    else if (!ref?.optional) problems.push(`${where}: envFrom ${ref?.name}, which does not exist`);
  }
  for (const variable of container.env ?? []) {
    const { configMapKeyRef, secretKeyRef } = variable.valueFrom ?? {};
    const ref = configMapKeyRef ?? secretKeyRef;
    if (!ref) {
      env[variable.name] = variable.value ?? '';
      continue;
    }
    const value = (configMapKeyRef ? configMap(ref.name) : fromSecret(ref.name))?.[ref.key];
    if (value !== undefined) env[variable.name] = value;
    else if (!ref.optional)
      problems.push(`${where}: ${variable.name} reads ${ref.name}/${ref.key}, which does not exist`);
  }
  return { env, problems };
}

/**
 * Each platform container runs one of the image's entry points (whose source exists), starts with an
 * environment its loader accepts given these Secret values, and declares as `http` the port it listens on.
 */
export function environmentProblems(manifests: Manifest[], secret: SecretValues): string[] {
  return podTemplates(manifests).flatMap((pod) =>
    containersOf(pod)
      .filter(isPlatformContainer)
      .flatMap((container) => {
        const where = `${nameOf(pod.owner)} container ${container.name}`;
        const [runtime, script] = container.command ?? [];
        const entry = ENTRY_POINTS[script];
        if (runtime !== 'node' || !entry)
          return [`${where} runs ${container.command?.join(' ')}, no entry point of the image`];
        const source = join(ROOT, script.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
        if (!existsSync(source)) return [`${where} runs ${script}, which no source file compiles to`];
        const { env, problems } = containerEnvironment(pod, container, manifests, secret);
        let config: Record<string, unknown>;
        try {
          config = entry.load(env) as Record<string, unknown>;
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          return [...problems, ...error.problems.map((problem) => `${where}: ${problem}`)];
        }
        for (const variable of Object.keys(entry.shape).filter((key) => key.endsWith('_PORT'))) {
          const listens = config[variable] as number;
          if (containerPort(container, 'http')?.containerPort !== listens)
            problems.push(
              `${where} listens on ${listens} (${variable}), which is not its declared http port`,
            );
        }
        return problems;
      }),
  );
}
