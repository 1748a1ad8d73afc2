export { type ForwardedIdentity, IDENTITY_HEADERS, registerVerifyRoutes } from "./verify.routes.js";
