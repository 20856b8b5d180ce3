// Starts Swagger UI on the hub's own API document. A file of its own, not an inline
// script, so the page runs under the hub's CSP (script-src 'self').
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // Never ask an outside validator about the document (the hub names no outside address).
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  persistAuthorization: false,
  tryItOutEnabled: false,
});
