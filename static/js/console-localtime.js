/* Times are rendered in UTC by the server; show them in the browser's own time zone.
   Runs on the page once, again on whatever htmx swaps in, and is callable by other scripts
   (the live updates) as window.sundialLocalTime(root). */
(function () {
  "use strict";
  function localize(root) {
    (root || document).querySelectorAll("time[data-local]:not([data-localized])").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) { return; }
      el.title = el.textContent;
      el.textContent = when.toLocaleString(undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
      });
      el.setAttribute("data-localized", "");
    });
  }
  window.sundialLocalTime = localize;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { localize(document); });
  } else {
    localize(document);
  }
  document.addEventListener("htmx:afterSwap", function (event) { localize(event.target); });
})();
