// Area-tree panel: a toggle shows or hides a node's children. htmx loads the children on the
// first click (hx-trigger="click once"); afterwards the click only toggles them. No inline script.
document.addEventListener("click", function (event) {
  var toggle = event.target.closest(".linli-tree-toggle");
  if (!toggle) return;
  var children = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = toggle.getAttribute("aria-expanded") !== "true";
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (children) children.hidden = !open;
});
