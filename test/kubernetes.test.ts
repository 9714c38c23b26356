/**
 * deploy/kubernetes: every overlay renders with `kubectl kustomize`, every object validates against the
 * Kubernetes API schemas (kubernetes-models, offline), and the objects agree with each other and with
 * the services' own code: selectors, ports, probe paths, required variables, Secret keys, policies.
 */
import type { IContainer } from 'kubernetes-models/v1';
import { startTestPlatform, type TestPlatform } from './support/platform';
import { testServers } from '../common/testing/env';
import {
  allowedSources,
  autoscalerProblems,
  disruptionBudgetProblems,
  httpProbes,
  ingressProblems,
  networkPolicyProblems,
  probeProblems,
  resourceProblems,
  securityProblems,
  serviceProblems,
  topologySpreadProblems,
  workloadProblems,
} from './kubernetes/checks';
import {
  environmentProblems,
  exampleValues,
  generatedValues,
  isPlatformContainer,
  secretKeyProblems,
} from './kubernetes/environment';
import {
  exampleSecret,
  type Manifest,
  OVERLAYS,
  type Overlay,
  podTemplates,
  renderOverlay,
} from './kubernetes/manifests';
import { schemaProblems } from './kubernetes/schema';

const rendered = Object.fromEntries(OVERLAYS.map((overlay) => [overlay, renderOverlay(overlay)])) as Record<
  Overlay,
  Manifest[]
>;

const find = (manifests: Manifest[], kind: string, name: string): Manifest => {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const firstContainer = (workload: Manifest): IContainer => workload.spec.template.spec.containers[0];

/** Only the gateway reaches the subgraphs (chat also reaches conversation); only services reach stores. */
const PLATFORM_SOURCES = {
  gateway: ['namespace:ingress-nginx'],
  auth: ['gateway'],
  conversation: ['chat', 'gateway'],
  chat: ['gateway'],
  migrate: [],
};
const EXPECTED_SOURCES: Record<Overlay, Record<string, string[]>> = {
  quickstart: {
    ...PLATFORM_SOURCES,
    postgres: ['auth', 'conversation', 'migrate'],
    redis: ['auth', 'chat', 'conversation', 'gateway'],
    chroma: ['conversation'],
  },
  production: PLATFORM_SOURCES,
};

describe.each(OVERLAYS)('the %s overlay', (overlay) => {
  const manifests = rendered[overlay];
  const example = exampleSecret(overlay);

  it('renders the four services, their Services, budgets, autoscalers, migration Job, policies and Ingress', () => {
    const names = (kind: string) => manifests.filter((m) => m.kind === kind).map((m) => m.metadata.name);
    const services = ['auth', 'chat', 'conversation', 'gateway'];
    expect(names('Deployment').sort()).toEqual(services);
    for (const kind of ['PodDisruptionBudget', 'HorizontalPodAutoscaler'])
      expect(names(kind).sort()).toEqual(services);
    expect(names('Job')).toEqual(['migrate']);
    expect(names('Ingress')).toEqual(['gateway']);
    expect(names('Secret')).toEqual([]);
    expect(manifests.every((m) => m.kind === 'Namespace' || m.metadata.namespace === 'llm-chat')).toBe(true);
  });

  it('validates every object, and the example Secret, against the Kubernetes API schemas', () => {
    expect([...manifests, example].flatMap(schemaProblems)).toEqual([]);
  });

  it('has workloads, Services, budgets, spreads and autoscalers that find their pods, and probes on declared ports', () => {
    expect([
      ...workloadProblems(manifests),
      ...serviceProblems(manifests),
      ...probeProblems(manifests),
      ...disruptionBudgetProblems(manifests),
      ...topologySpreadProblems(manifests),
      ...autoscalerProblems(manifests),
      ...ingressProblems(manifests),
    ]).toEqual([]);
  });

  it('reads only Secret keys the example lists, and every key the example lists', () => {
    expect(secretKeyProblems(manifests, example)).toEqual([]);
  });

  it("starts every platform container with what its service's configuration requires, on its declared port", () => {
    expect(environmentProblems(manifests, generatedValues(example))).toEqual([]);
  });

  it('makes every service refuse to start if the example Secret is applied unchanged', () => {
    const problems = environmentProblems(manifests, exampleValues(example));
    for (const name of ['gateway', 'auth', 'conversation', 'chat'])
      expect(problems).toContainEqual(
        expect.stringMatching(new RegExp(`^Deployment ${name} .*: IDENTITY_SECRET: `)),
      );
  });

  it('lets only the gateway reach the subgraphs (and chat reach conversation), only the services reach the stores', () => {
    expect(networkPolicyProblems(manifests)).toEqual([]);
    expect(allowedSources(manifests)).toEqual(EXPECTED_SOURCES[overlay]);
  });

  it('runs every pod unprivileged with bounded resources; only Chroma keeps a writable root filesystem', () => {
    expect(securityProblems(manifests, ['chroma'])).toEqual([]);
    expect(resourceProblems(manifests)).toEqual([]);
  });

  it('routes /graphql through the Ingress with hour-long timeouts and unbuffered responses (SSE)', () => {
    const { annotations = {} } = find(manifests, 'Ingress', 'gateway').metadata;
    expect(annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
    });
  });
});

it('runs at least three replicas of each service in production, and one to three in the quickstart', () => {
  const bounds = (overlay: Overlay) =>
    rendered[overlay]
      .filter((m) => m.kind === 'HorizontalPodAutoscaler')
      .map((m) => [m.spec.minReplicas as number, m.spec.maxReplicas as number]);
  expect(bounds('production').every(([min, max]) => min >= 3 && max > min)).toBe(true);
  expect(bounds('quickstart').every(([min, max]) => min === 1 && max === 3)).toBe(true);
});

it("keeps the quickstart's Redis durable to the second, refusing writes rather than evicting when full", () => {
  const redis = firstContainer(find(rendered.quickstart, 'StatefulSet', 'redis'));
  const args = (redis.args ?? []).join(' ');
  expect(args).toContain('--appendonly yes --appendfsync everysec');
  expect(args).toContain('--maxmemory-policy noeviction');
  const maxmemoryMb = Number(/--maxmemory (\d+)mb/.exec(args)?.[1]);
  const limitMi = Number(/^(\d+)Mi$/.exec(String(redis.resources?.limits?.memory))?.[1]);
  expect(maxmemoryMb).toBeLessThan(limitMi);
});

describe('the HTTP probes against the running services', () => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform('kubernetes probes');
  });
  afterAll(() => platform?.stop());

  const origins = () => ({
    gateway: new URL(platform.gatewayUrl).origin,
    auth: new URL(platform.subgraphs.auth.url).origin,
    conversation: new URL(platform.subgraphs.conversation.url).origin,
    chat: new URL(platform.subgraphs.chat.url).origin,
    chroma: new URL(testServers().chromaUrl).origin,
  });

  /** The probes whose path does not answer 200 on the real service (or Chroma server) the pod runs. */
  async function failingProbes(manifests: Manifest[]): Promise<string[]> {
    const servers: Record<string, string> = origins();
    const failing: string[] = [];
    for (const { pod, kind, path } of httpProbes(manifests)) {
      const response = await fetch(`${servers[pod.name]}${path}`);
      await response.body?.cancel();
      if (response.status !== 200) failing.push(`${pod.name} ${kind} ${path}: ${response.status}`);
    }
    return failing;
  }

  it.each(OVERLAYS)('answer 200 on every path the %s overlay probes', async (overlay) => {
    expect(httpProbes(rendered[overlay]).length).toBeGreaterThan(0);
    expect(await failingProbes(rendered[overlay])).toEqual([]);
  });

  it('reports a probe on a path the service does not serve', async () => {
    const copy = structuredClone(rendered.production);
    firstContainer(find(copy, 'Deployment', 'auth')).readinessProbe!.httpGet!.path = '/healthz';
    expect(await failingProbes(copy)).toEqual(['auth readinessProbe /healthz: 404']);
  });
});

describe('a broken copy of the rendering', () => {
  const copy = () => structuredClone(rendered.quickstart);

  it('reports a Service whose selector matches no pod', () => {
    const manifests = copy();
    find(manifests, 'Service', 'gateway').spec.selector['app.kubernetes.io/name'] = 'gatway';
    expect(serviceProblems(manifests)).toEqual(['Service gateway selects no pod']);
  });

  it("reports a Deployment whose selector does not select its own pods, and a StatefulSet's missing Service", () => {
    const manifests = copy();
    find(manifests, 'Deployment', 'conversation').spec.selector.matchLabels['app.kubernetes.io/name'] =
      'conversations';
    find(manifests, 'StatefulSet', 'redis').spec.serviceName = 'redis-headless';
    expect(workloadProblems(manifests)).toEqual([
      'Deployment conversation: its selector does not select its own pod template',
      'StatefulSet redis: serviceName redis-headless is no Service',
    ]);
  });

  it('reports a probe on a port the container does not declare', () => {
    const manifests = copy();
    firstContainer(find(manifests, 'Deployment', 'chat')).livenessProbe!.tcpSocket!.port = 4999;
    expect(probeProblems(manifests)).toEqual([
      'Deployment chat container chat: livenessProbe port 4999 is not a declared container port',
    ]);
  });

  it('reports a container port that is not the one the service listens on', () => {
    const manifests = copy();
    firstContainer(find(manifests, 'Deployment', 'auth')).ports![0].containerPort = 4011;
    expect(environmentProblems(manifests, generatedValues(exampleSecret('quickstart')))).toEqual([
      'Deployment auth container auth listens on 4001 (AUTH_PORT), which is not its declared http port',
    ]);
  });

  it('reports a variable the service requires that no longer reaches it', () => {
    const manifests = copy();
    const chat = firstContainer(find(manifests, 'Deployment', 'chat'));
    chat.env = chat.env!.filter((variable) => variable.name !== 'REDIS_URL');
    expect(environmentProblems(manifests, generatedValues(exampleSecret('quickstart')))).toEqual([
      expect.stringMatching(/^Deployment chat container chat: REDIS_URL: /),
    ]);
  });

  it('reports a Secret key the example does not list', () => {
    const manifests = copy();
    firstContainer(find(manifests, 'Deployment', 'gateway')).env!.push({
      name: 'JWKS_URL',
      valueFrom: { secretKeyRef: { name: 'llm-chat-secrets', key: 'JWKS_URL' } },
    });
    expect(secretKeyProblems(manifests, exampleSecret('quickstart'))).toEqual([
      'Deployment gateway container gateway reads key JWKS_URL, which the example Secret lacks',
    ]);
  });

  it('reports a misspelt field and a value of the wrong type', () => {
    const manifests = copy();
    const gateway = find(manifests, 'Deployment', 'gateway');
    const container = firstContainer(gateway) as IContainer & Record<string, unknown>;
    container.readinesProbe = container.readinessProbe;
    delete container.readinessProbe;
    gateway.spec.revisionHistoryLimit = 'five';
    expect(schemaProblems(gateway)).toEqual([
      'Deployment gateway: /spec/revisionHistoryLimit must be integer',
      'Deployment gateway: unknown field /spec/template/spec/containers/0/readinesProbe',
    ]);
  });

  it('reports a network policy whose source matches no pod, and the reachability it changes', () => {
    const manifests = copy();
    find(manifests, 'NetworkPolicy', 'chat-from-gateway').spec.ingress[0].from[0].podSelector.matchLabels[
      'app.kubernetes.io/name'
    ] = 'gatway';
    expect(networkPolicyProblems(manifests)).toEqual([
      'NetworkPolicy chat-from-gateway: a source selector selects no pod',
    ]);
    expect(allowedSources(manifests).chat).toEqual([]);
  });

  it('reports an autoscaler whose target does not exist, and a budget that selects nothing', () => {
    const manifests = copy();
    find(manifests, 'HorizontalPodAutoscaler', 'auth').spec.scaleTargetRef.name = 'authn';
    find(manifests, 'PodDisruptionBudget', 'auth').spec.selector.matchLabels['app.kubernetes.io/name'] =
      'authn';
    expect(autoscalerProblems(manifests)).toEqual([
      'HorizontalPodAutoscaler auth scales Deployment authn, which does not exist',
    ]);
    expect(disruptionBudgetProblems(manifests)).toEqual(['PodDisruptionBudget auth selects no pod']);
  });

  it('reports a container that may escalate privileges', () => {
    const manifests = copy();
    firstContainer(find(manifests, 'Deployment', 'conversation')).securityContext!.allowPrivilegeEscalation =
      true;
    expect(securityProblems(manifests, ['chroma'])).toEqual([
      'Deployment conversation container conversation may escalate privileges',
    ]);
  });
});

it('runs the platform image in every workload of the base, as the one image the Dockerfile builds', () => {
  const platform = podTemplates(rendered.production).flatMap((pod) => pod.template.spec?.containers ?? []);
  expect(platform.length).toBe(5);
  expect(platform.every(isPlatformContainer)).toBe(true);
});
