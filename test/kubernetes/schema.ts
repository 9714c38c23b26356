import * as apps from 'kubernetes-models/apps/v1';
import * as autoscaling from 'kubernetes-models/autoscaling/v2';
import * as batch from 'kubernetes-models/batch/v1';
import * as networking from 'kubernetes-models/networking.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import { type Manifest, nameOf } from './manifests';

/** The API groups the manifests use, as kubernetes-models (Kubernetes 1.27 OpenAPI) models them. */
const GROUPS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'autoscaling/v2': autoscaling,
  'batch/v1': batch,
  'networking.k8s.io/v1': networking,
  'policy/v1': policy,
};

interface ValidationError {
  errors?: { instancePath: string; message?: string }[];
  message: string;
}

/**
 * Runs `validate` with every object it reaches wrapped so that the properties it reads are recorded.
 * The validators are compiled from the Kubernetes OpenAPI schemas, which allow unknown properties;
 * a property the validator never reads is one the schema does not define (`readinesProbe`), which
 * the API server would drop or refuse. Maps (labels, data, resources) are read key by key.
 */
function unknownFields(value: object, validate: (watched: object) => void): string[] {
  const read = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const watch = (target: unknown): unknown => {
    if (target === null || typeof target !== 'object') return target;
    let proxy = proxies.get(target);
    if (!proxy) {
      read.set(target, new Set());
      proxy = new Proxy(target, {
        get(object, key, receiver) {
          if (typeof key === 'string') read.get(object)?.add(key);
          return watch(Reflect.get(object, key, receiver));
        },
      });
      proxies.set(target, proxy);
    }
    return proxy;
  };
  validate(watch(value) as object);
  const unknown: string[] = [];
  const walk = (node: unknown, path: string) => {
    if (node === null || typeof node !== 'object') return;
    const seen = read.get(node);
    for (const [key, child] of Object.entries(node)) {
      if (!Array.isArray(node) && !seen?.has(key)) unknown.push(`${path}/${key}`);
      else walk(child, `${path}/${key}`);
    }
  };
  walk(value, '');
  return unknown;
}

/** Problems with one object against its Kubernetes API schema: invalid values and unknown fields. */
export function schemaProblems(manifest: Manifest): string[] {
  const model = GROUPS[manifest.apiVersion]?.[manifest.kind] as
    | { prototype: { validate(this: object): void } }
    | undefined;
  if (!model) return [`${nameOf(manifest)}: no schema for ${manifest.apiVersion} ${manifest.kind}`];
  const problems: string[] = [];
  const unknown = unknownFields(manifest, (watched) => {
    try {
      model.prototype.validate.call(watched);
    } catch (error) {
      const { errors, message } = error as ValidationError;
      for (const { instancePath, message: detail } of errors ?? [{ instancePath: '', message }]) {
        problems.push(`${nameOf(manifest)}: ${instancePath || '/'} ${detail}`);
      }
    }
  });
  return [...problems, ...unknown.map((path) => `${nameOf(manifest)}: unknown field ${path}`)];
}
