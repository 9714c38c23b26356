import { createHash } from 'node:crypto';
import type { AssetName } from './assets';
import type { ExampleTab } from './examples';

/** What the page's script reads from the JSON block the page carries. */
export interface PageConfig {
  /** The GraphQL endpoint's path, for HTTP and (as ws: or wss:) graphql-ws. */
  endpoint: string;
  tabs: readonly ExampleTab[];
}

/**
 * The page's own script, run after the bundles. It renders GraphiQL with a fetcher that sends
 * queries and mutations over HTTP and subscriptions over graphql-ws (the token in the
 * connection_init payload, one socket per Authorization value), and that remembers the access
 * token of the last register, login or refreshToken in this browser tab (sessionStorage, gone
 * when the tab closes) so the example tabs run one after the other without copying it.
 * Kept as plain ES2020 text: it is not compiled, and the Content-Security-Policy admits it by hash.
 */
const BOOTSTRAP = `(() => {
  'use strict';
  const config = JSON.parse(document.getElementById('playground-config').textContent);
  const httpUrl = new URL(config.endpoint, location.href).toString();
  const webSocketUrl = httpUrl.replace(/^http/, 'ws');
  const TOKEN_KEY = 'llm-chat-playground:access-token';
  const SIGN_IN_FIELDS = ['register', 'login', 'refreshToken'];

  const headerNamed = (headers, wanted) =>
    Object.keys(headers).find((name) => name.toLowerCase() === wanted);

  const withAuthorization = (editorHeaders) => {
    const headers = Object.assign({}, editorHeaders);
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!headerNamed(headers, 'authorization') && token) headers.authorization = 'Bearer ' + token;
    return headers;
  };

  const rememberSignIn = (result) => {
    const data = (result && result.data) || {};
    for (const field of SIGN_IN_FIELDS) {
      if (data[field] && data[field].accessToken) sessionStorage.setItem(TOKEN_KEY, data[field].accessToken);
    }
    if (data.logout === true || data.logoutAll === true) sessionStorage.removeItem(TOKEN_KEY);
  };

  // The operation is read from the text being sent: right after a tab switch, GraphiQL's
  // parsed document and operation name can still be the previous tab's.
  const operationOf = (params) => {
    let operations = [];
    try {
      operations = GraphiQL.GraphQL.parse(params.query).definitions.filter(
        (definition) => definition.kind === 'OperationDefinition',
      );
    } catch {
      return undefined;
    }
    if (operations.length === 1) return operations[0];
    return operations.find((definition) => definition.name && definition.name.value === params.operationName);
  };

  const sockets = new Map();
  const socketFor = (authorization) => {
    const key = authorization || '';
    if (!sockets.has(key)) {
      for (const socket of sockets.values()) socket.dispose();
      sockets.clear();
      sockets.set(
        key,
        graphqlWs.createClient({
          url: webSocketUrl,
          lazy: true,
          connectionParams: authorization ? { authorization } : {},
        }),
      );
    }
    return sockets.get(key);
  };

  const fetcher = async (params, options) => {
    const operation = operationOf(params);
    if (operation && operation.name) params = Object.assign({}, params, { operationName: operation.name.value });
    const headers = withAuthorization((options && options.headers) || {});
    if (operation && operation.operation === 'subscription') {
      const name = headerNamed(headers, 'authorization');
      return socketFor(name ? headers[name] : undefined).iterate(params);
    }
    const response = await fetch(httpUrl, {
      method: 'POST',
      headers: Object.assign(
        { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        headers,
      ),
      body: JSON.stringify(params),
    });
    const result = await response.json();
    rememberSignIn(result);
    return result;
  };

  ReactDOM.createRoot(document.getElementById('playground')).render(
    React.createElement(GraphiQL, {
      fetcher,
      defaultTabs: config.tabs,
      // GraphiQL fills the editors of the first tab from these, not from defaultTabs.
      variables: config.tabs[0].variables,
      defaultEditorToolsVisibility: 'variables',
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    }),
  );
})();`;

const BOOTSTRAP_HASH = `'sha256-${createHash('sha256').update(BOOTSTRAP).digest('base64')}'`;

/** Same-origin bundles and the script above; GraphiQL's fonts are data: URLs and its editors set inline styles. */
export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'self' ${BOOTSTRAP_HASH}`,
  "style-src 'self' 'unsafe-inline'",
  'font-src data:',
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SCRIPTS: readonly AssetName[] = [
  'react.production.min.js',
  'react-dom.production.min.js',
  'graphiql.min.js',
  'graphql-ws.min.js',
];

/** JSON inside a <script> block: `<` escaped, so no value can close the block. */
const scriptSafeJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The playground's HTML; `assetUrl` gives each bundle's versioned URL. */
export function renderPage(config: PageConfig, assetUrl: (asset: AssetName) => string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>LLM Chat · GraphQL playground</title>
    <link rel="stylesheet" href="${assetUrl('graphiql.min.css')}" />
  </head>
  <body style="margin: 0">
    <div id="playground" style="height: 100vh"></div>
    <script type="application/json" id="playground-config">${scriptSafeJson(config)}</script>
${SCRIPTS.map((name) => `    <script src="${assetUrl(name)}"></script>`).join('\n')}
    <script>${BOOTSTRAP}</script>
  </body>
</html>
`;
}
