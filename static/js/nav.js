// The Menu button of small screens: it shows and hides the navigation (templates/base.html).
// Without JavaScript the button stays hidden and the navigation wraps instead (static/css/testmanager.css).
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".nav-toggle");
  if (!toggle) return;
  toggle.addEventListener("click", () => {
    const open = document.body.classList.toggle("menu-open");
    toggle.setAttribute("aria-expanded", String(open));
  });
});
