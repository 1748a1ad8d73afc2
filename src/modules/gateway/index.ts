export { type ForwardedIdentity, IDENTITY_HEADERS, registerVerifyRoutes } from "./verify.routes.js";
export { INTROSPECTION_PATH, registerIntrospectionRoutes } from "./introspect.routes.js";
