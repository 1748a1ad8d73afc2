import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { FastifyInstance } from "fastify";

/** Where the explorer is served (development only). */
export const EXPLORER_PATH = "/explorer";

/**
 * Everything the explorer's page may load comes from Kafkey itself: no CDN, no inline script or style.
 * Fonts are data: URIs inside GraphiQL's stylesheet; `connect-src 'self'` covers the same host's
 * WebSocket too (CSP level 3).
 */
export const EXPLORER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const require = createRequire(import.meta.url);

/** A file of an installed package, found the way Node finds the package (hoisted or not). */
function packageFile(name: string, file: string): string {
  return path.join(path.dirname(require.resolve(`${name}/package.json`)), file);
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** The page's own script: GraphiQL over HTTP, subscriptions over graphql-ws with the typed headers. */
const PAGE_SCRIPT = String.raw`"use strict";
(function () {
  var endpoint = new URL("/graphql", location.href).toString();
  var socketUrl = endpoint.replace(/^http/, "ws");
  var socket, socketKey;

  function header(headers, name) {
    for (var key in headers) if (key.toLowerCase() === name) return String(headers[key]);
    return undefined;
  }

  // Kafkey reads a WebSocket's credentials from connectionParams: the same ones the headers editor
  // holds. A change of them opens a new connection.
  function socketFor(headers) {
    var params = {};
    ["authorization", "x-organization-id"].forEach(function (name) {
      var value = header(headers, name);
      if (value !== undefined) params[name] = value;
    });
    var key = JSON.stringify(params);
    if (socket && key === socketKey) return socket;
    if (socket) socket.dispose();
    socketKey = key;
    socket = graphqlWs.createClient({ url: socketUrl, connectionParams: params, lazy: true });
    return socket;
  }

  function isSubscription(request) {
    try {
      var operations = GraphiQL.GraphQL.parse(request.query).definitions.filter(function (d) {
        return d.kind === "OperationDefinition";
      });
      var chosen = request.operationName
        ? operations.find(function (o) { return o.name && o.name.value === request.operationName; })
        : operations[0];
      return Boolean(chosen) && chosen.operation === "subscription";
    } catch (error) {
      return false;
    }
  }

  // graphql-ws ends a refused connection with its CloseEvent, which GraphiQL would show as {}: say
  // what Kafkey said instead (4401 and its reason, for a missing or bad Authorization).
  async function* subscribe(client, request) {
    try {
      yield* client.iterate(request);
    } catch (error) {
      if (error && typeof error.code === "number") {
        throw new Error("The WebSocket closed: " + error.code + " " + (error.reason || ""));
      }
      throw error;
    }
  }

  function fetcher(request, options) {
    var headers = (options && options.headers) || {};
    if (isSubscription(request)) return subscribe(socketFor(headers), request);
    return fetch(endpoint, {
      method: "POST",
      headers: Object.assign(
        { "content-type": "application/json", accept: "application/graphql-response+json, application/json" },
        headers
      ),
      body: JSON.stringify(request),
    }).then(function (response) { return response.json(); });
  }

  var intro = [
    "# Kafkey's explorer (GraphiQL), served by Kafkey itself: it works offline.",
    "# Sign in with the login mutation, then put its accessToken in Headers (below):",
    '#   { "Authorization": "Bearer <accessToken>" }',
    "# Subscriptions run over graphql-ws with the same header.",
    "",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\n");

  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: intro,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    })
  );
})();
`;

const PAGE_STYLE = `html, body, #graphiql { height: 100%; margin: 0; }
`;

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Kafkey explorer</title>
    <!-- No icon: else the browser asks for /favicon.ico, which Kafkey does not serve. -->
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="${EXPLORER_PATH}/assets/graphiql.min.css" />
    <link rel="stylesheet" href="${EXPLORER_PATH}/assets/explorer.css" />
  </head>
  <body>
    <div id="graphiql">Loading the explorer…</div>
    <script src="${EXPLORER_PATH}/assets/react.production.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/react-dom.production.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/graphiql.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/graphql-ws.min.js"></script>
    <script src="${EXPLORER_PATH}/assets/explorer.js"></script>
  </body>
</html>
`;

interface Asset {
  type: string;
  /** The file to read, or the asset's text. */
  load: () => Promise<string | Buffer>;
}

const fromPackage = (name: string, file: string, type: string): Asset => ({
  type,
  load: () => readFile(packageFile(name, file)),
});

const ASSETS: Record<string, Asset> = {
  "react.production.min.js": fromPackage("react", "umd/react.production.min.js", JS),
  "react-dom.production.min.js": fromPackage("react-dom", "umd/react-dom.production.min.js", JS),
  "graphiql.min.js": fromPackage("graphiql", "graphiql.min.js", JS),
  "graphiql.min.css": fromPackage("graphiql", "graphiql.min.css", CSS),
  "graphql-ws.min.js": fromPackage("graphql-ws", "umd/graphql-ws.min.js", JS),
  "explorer.js": { type: JS, load: async () => PAGE_SCRIPT },
  "explorer.css": { type: CSS, load: async () => PAGE_STYLE },
};

/**
 * Development's explorer at `GET /explorer`: GraphiQL against `/graphql`, with subscriptions over
 * graphql-ws, loaded entirely from Kafkey (React, GraphiQL and graphql-ws from node_modules), so that it
 * works where Apollo Sandbox, loaded from Apollo's CDN, cannot (offline, or a network that blocks it).
 * The caller registers it outside production only: production serves no explorer (404).
 * The headers the user types are not persisted by GraphiQL (`shouldPersistHeaders: false`).
 */
export function registerExplorer(app: FastifyInstance): void {
  const loaded = new Map<string, Promise<string | Buffer>>();
  app.get(EXPLORER_PATH, async (_request, reply) =>
    reply.header("content-security-policy", EXPLORER_CSP).type("text/html; charset=utf-8").send(PAGE),
  );
  app.get<{ Params: { file: string } }>(`${EXPLORER_PATH}/assets/:file`, async (request, reply) => {
    const { file } = request.params;
    const asset = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!asset) return reply.callNotFound();
    let body = loaded.get(file);
    if (!body) {
      body = asset.load();
      loaded.set(file, body);
      // A failed read is tried again next time rather than remembered.
      body.catch(() => loaded.delete(file));
    }
    return reply
      .header("content-security-policy", EXPLORER_CSP)
      .type(asset.type)
      .send(await body);
  });
}
