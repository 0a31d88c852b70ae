// The case form's steps: an "Add step" button copies an empty row (the formset's empty form) and
// counts it in TOTAL_FORMS. Without JavaScript the form shows three empty rows and saving adds more.
(function () {
  "use strict";

  function start() {
    var fieldset = document.getElementById("steps");
    var template = document.getElementById("step-template");
    if (!fieldset || !template) return;
    var total = fieldset.querySelector('input[name="steps-TOTAL_FORMS"]');
    var list = fieldset.querySelector(".step-rows");
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.id = "add-step";
    button.textContent = "Add step";
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index)).replace(/__number__/g, String(index + 1));
      list.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = list.lastElementChild.querySelector("textarea");
      if (added) added.focus();
    });
    fieldset.appendChild(button);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
