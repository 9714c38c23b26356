/**
 * Cross-reference checks of rendered manifests. Each returns the problems it finds, one sentence
 * each naming the object, so a test can assert both that a rendering has none and that a broken copy
 * has the one expected.
 */
import type { IContainer, IProbe } from 'kubernetes-models/v1';
import {
  containerPort,
  containersOf,
  type LabelSelector,
  type Manifest,
  nameOf,
  type PodTemplate,
  podTemplates,
  selects,
} from './manifests';

const sameNamespace = (a: { metadata: { namespace?: string } }, namespace: string | undefined) =>
  a.metadata.namespace === namespace;

const podsSelectedBy = (manifests: Manifest[], selector: LabelSelector | undefined, namespace?: string) =>
  podTemplates(manifests).filter((pod) => pod.namespace === namespace && selects(selector, pod.labels));

const where = (pod: PodTemplate, container: IContainer) => `${nameOf(pod.owner)} container ${container.name}`;

/** A port every container of the pod lacks. */
const podLacksPort = (pod: PodTemplate, port: number | string) =>
  containersOf(pod).every((container) => !containerPort(container, port));

/** Each Service selects pods, and each of its target ports is a port those pods declare. */
export function serviceProblems(manifests: Manifest[]): string[] {
  return manifests
    .filter((manifest) => manifest.kind === 'Service')
    .flatMap((service) => {
      const pods = podsSelectedBy(
        manifests,
        { matchLabels: service.spec.selector },
        service.metadata.namespace,
      );
      if (pods.length === 0) return [`${nameOf(service)} selects no pod`];
      return (service.spec.ports as { name?: string; port: number; targetPort?: number | string }[]).flatMap(
        ({ name, port, targetPort = port }) =>
          pods
            .filter((pod) => podLacksPort(pod, targetPort))
            .map(
              (pod) =>
                `${nameOf(service)} port ${name ?? port}: ${nameOf(pod.owner)} declares no port ${targetPort}`,
            ),
      );
    });
}

/**
 * Each Deployment's and StatefulSet's selector selects its own pod template (the API server refuses
 * one that does not, so the rendering would not apply), and each StatefulSet's `serviceName` is a
 * Service of its namespace (its pods' DNS names come from it).
 */
export function workloadProblems(manifests: Manifest[]): string[] {
  return podTemplates(manifests)
    .filter((pod) => pod.owner.kind === 'Deployment' || pod.owner.kind === 'StatefulSet')
    .flatMap((pod) => {
      const problems: string[] = [];
      if (!selects(pod.owner.spec.selector as LabelSelector | undefined, pod.labels))
        problems.push(`${nameOf(pod.owner)}: its selector does not select its own pod template`);
      const serviceName = pod.owner.spec.serviceName as string | undefined;
      if (
        pod.owner.kind === 'StatefulSet' &&
        !manifests.some(
          (manifest) =>
            manifest.kind === 'Service' &&
            manifest.metadata.name === serviceName &&
            sameNamespace(manifest, pod.namespace),
        )
      )
        problems.push(`${nameOf(pod.owner)}: serviceName ${serviceName} is no Service`);
      return problems;
    });
}

const PROBES = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;

/** Every long-running container has all three probes, each on a port the container declares. */
export function probeProblems(manifests: Manifest[]): string[] {
  return podTemplates(manifests)
    .filter((pod) => pod.owner.kind !== 'Job')
    .flatMap((pod) =>
      containersOf(pod).flatMap((container) =>
        PROBES.flatMap((kind) => {
          const probe = container[kind];
          if (!probe) return [`${where(pod, container)} has no ${kind}`];
          const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port;
          if (port === undefined) return [];
          return containerPort(container, port)
            ? []
            : [`${where(pod, container)}: ${kind} port ${port} is not a declared container port`];
        }),
      ),
    );
}

export interface HttpProbe {
  pod: PodTemplate;
  container: IContainer;
  kind: (typeof PROBES)[number];
  path: string;
}

/** The HTTP probes of the pods, to check against the running services. */
export function httpProbes(manifests: Manifest[]): HttpProbe[] {
  return podTemplates(manifests).flatMap((pod) =>
    containersOf(pod).flatMap((container) =>
      PROBES.flatMap((kind) => {
        const probe: IProbe | undefined = container[kind];
        return probe?.httpGet ? [{ pod, container, kind, path: probe.httpGet.path ?? '/' }] : [];
      }),
    ),
  );
}

/** A PodDisruptionBudget that selects no pod protects nothing. */
export function disruptionBudgetProblems(manifests: Manifest[]): string[] {
  return manifests
    .filter((manifest) => manifest.kind === 'PodDisruptionBudget')
    .flatMap((budget) =>
      podsSelectedBy(manifests, budget.spec.selector, budget.metadata.namespace).length === 0
        ? [`${nameOf(budget)} selects no pod`]
        : [],
    );
}

/**
 * Each HorizontalPodAutoscaler scales a Deployment that exists, leaves `replicas` to it, and can
 * compute CPU utilisation (every container requests CPU).
 */
export function autoscalerProblems(manifests: Manifest[]): string[] {
  return manifests
    .filter((manifest) => manifest.kind === 'HorizontalPodAutoscaler')
    .flatMap((autoscaler) => {
      const { kind, name, apiVersion } = autoscaler.spec.scaleTargetRef as Record<string, string>;
      const target = manifests.find(
        (manifest) =>
          manifest.kind === kind &&
          manifest.apiVersion === apiVersion &&
          manifest.metadata.name === name &&
          sameNamespace(manifest, autoscaler.metadata.namespace),
      );
      if (!target) return [`${nameOf(autoscaler)} scales ${kind} ${name}, which does not exist`];
      const problems: string[] = [];
      if (autoscaler.spec.minReplicas > autoscaler.spec.maxReplicas)
        problems.push(`${nameOf(autoscaler)}: minReplicas above maxReplicas`);
      if (target.spec.replicas !== undefined)
        problems.push(
          `${nameOf(target)} sets replicas, which every apply would reset under ${nameOf(autoscaler)}`,
        );
      for (const container of target.spec.template.spec.containers as IContainer[]) {
        if (!container.resources?.requests?.cpu)
          problems.push(
            `${nameOf(target)} container ${container.name} requests no CPU (${nameOf(autoscaler)})`,
          );
      }
      return problems;
    });
}

/** Every workload's pods spread by their own labels. */
export function topologySpreadProblems(manifests: Manifest[]): string[] {
  return podTemplates(manifests).flatMap((pod) =>
    (pod.template.spec?.topologySpreadConstraints ?? [])
      .filter((constraint) => !selects(constraint.labelSelector, pod.labels))
      .map(() => `${nameOf(pod.owner)}: a topology spread constraint does not select its own pods`),
  );
}

/** Each Ingress backend is a Service that exists, on a port it has. */
export function ingressProblems(manifests: Manifest[]): string[] {
  return manifests
    .filter((manifest) => manifest.kind === 'Ingress')
    .flatMap((ingress) =>
      (
        ingress.spec.rules as {
          http: {
            paths: { backend: { service: { name: string; port: { name?: string; number?: number } } } }[];
          };
        }[]
      )
        .flatMap((rule) => rule.http.paths)
        .flatMap(({ backend: { service: backend } }) => {
          const service = manifests.find(
            (manifest) =>
              manifest.kind === 'Service' &&
              manifest.metadata.name === backend.name &&
              sameNamespace(manifest, ingress.metadata.namespace),
          );
          if (!service) return [`${nameOf(ingress)}: no Service ${backend.name}`];
          const ports = service.spec.ports as { name?: string; port: number }[];
          const found = ports.some((port) =>
            backend.port.name ? port.name === backend.port.name : port.port === backend.port.number,
          );
          return found
            ? []
            : [
                `${nameOf(ingress)}: Service ${backend.name} has no port ${backend.port.name ?? backend.port.number}`,
              ];
        }),
    );
}

interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string };
}
interface PolicyRule {
  from?: PolicyPeer[];
  ports?: { port?: number | string }[];
}

const ingressPolicies = (manifests: Manifest[]) =>
  manifests.filter(
    (manifest) =>
      manifest.kind === 'NetworkPolicy' &&
      ((manifest.spec.policyTypes as string[] | undefined)?.includes('Ingress') ?? true),
  );

/** Each NetworkPolicy's selectors select pods, and the ports it opens are ports of the pods it guards. */
export function networkPolicyProblems(manifests: Manifest[]): string[] {
  return ingressPolicies(manifests).flatMap((policy) => {
    const namespace = policy.metadata.namespace;
    const guarded = podsSelectedBy(manifests, policy.spec.podSelector, namespace);
    if (guarded.length === 0) return [`${nameOf(policy)} selects no pod`];
    return ((policy.spec.ingress ?? []) as PolicyRule[]).flatMap((rule) => [
      ...(rule.from ?? [])
        .filter((peer) => peer.podSelector && !peer.namespaceSelector)
        .filter((peer) => podsSelectedBy(manifests, peer.podSelector, namespace).length === 0)
        .map(() => `${nameOf(policy)}: a source selector selects no pod`),
      ...(rule.ports ?? []).flatMap(({ port }) =>
        port === undefined
          ? []
          : guarded
              .filter((pod) => podLacksPort(pod, port))
              .map((pod) => `${nameOf(policy)}: ${nameOf(pod.owner)} declares no port ${port}`),
      ),
    ]);
  });
}

/**
 * Who may connect to each pod, by the pods' `app.kubernetes.io/name`: `*` for anyone, `namespace:X`
 * for pods of namespace X (by its `kubernetes.io/metadata.name`), `ip:CIDR` for addresses.
 */
export function allowedSources(manifests: Manifest[]): Record<string, string[]> {
  const pods = podTemplates(manifests);
  return Object.fromEntries(
    pods.map((target) => {
      const policies = ingressPolicies(manifests).filter(
        (policy) =>
          policy.metadata.namespace === target.namespace && selects(policy.spec.podSelector, target.labels),
      );
      if (policies.length === 0) return [target.name, ['*']];
      const sources = new Set<string>();
      for (const rule of policies.flatMap((policy) => (policy.spec.ingress ?? []) as PolicyRule[])) {
        if (!rule.from || rule.from.length === 0) sources.add('*');
        for (const peer of rule.from ?? []) {
          if (peer.ipBlock) sources.add(`ip:${peer.ipBlock.cidr}`);
          else if (peer.namespaceSelector)
            sources.add(
              `namespace:${peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? '*'}`,
            );
          else
            for (const source of pods)
              if (source.namespace === target.namespace && selects(peer.podSelector, source.labels))
                sources.add(source.name);
        }
      }
      return [target.name, [...sources].sort()];
    }),
  );
}

/** Pods run as non-root without a service account token; containers cannot escalate and hold no capability. */
export function securityProblems(manifests: Manifest[], writableRootFilesystem: string[] = []): string[] {
  return podTemplates(manifests).flatMap((pod) => {
    const spec = pod.template.spec;
    const problems: string[] = [];
    if (spec?.automountServiceAccountToken !== false)
      problems.push(`${nameOf(pod.owner)} mounts a service account token`);
    if (spec?.securityContext?.runAsNonRoot !== true) problems.push(`${nameOf(pod.owner)} may run as root`);
    if (spec?.securityContext?.seccompProfile?.type !== 'RuntimeDefault')
      problems.push(`${nameOf(pod.owner)} has no RuntimeDefault seccomp profile`);
    for (const container of containersOf(pod)) {
      const context = container.securityContext;
      if (context?.allowPrivilegeEscalation !== false)
        problems.push(`${where(pod, container)} may escalate privileges`);
      if (JSON.stringify(context?.capabilities?.drop) !== '["ALL"]')
        problems.push(`${where(pod, container)} does not drop every capability`);
      if (context?.readOnlyRootFilesystem !== true && !writableRootFilesystem.includes(pod.name))
        problems.push(`${where(pod, container)} has a writable root filesystem`);
    }
    return problems;
  });
}

/** Every container requests and is limited in CPU and memory. */
export function resourceProblems(manifests: Manifest[]): string[] {
  return podTemplates(manifests).flatMap((pod) =>
    containersOf(pod).flatMap((container) =>
      (['requests', 'limits'] as const).flatMap((bound) =>
        (['cpu', 'memory'] as const)
          .filter((resource) => !container.resources?.[bound]?.[resource])
          .map((resource) => `${where(pod, container)} has no ${resource} ${bound.replace(/s$/, '')}`),
      ),
    ),
  );
}
