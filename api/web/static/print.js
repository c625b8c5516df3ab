/* The print view's button: the browser's print dialog (A4, as the page's @page says). */
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) button.addEventListener("click", function () { window.print(); });
}());
