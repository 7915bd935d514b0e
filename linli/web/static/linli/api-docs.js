// Starts Swagger UI on the API docs page (a file, not inline: the CSP forbids inline script).
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.schemaUrl, domNode: root, deepLinking: true });
});
