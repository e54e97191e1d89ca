// Broadsheet's reader-side enhancements. The site works without any of this: it adds a live view
// count, a character counter on the comment form, and a copy-link button.
(function () {
  "use strict";

  // Count the view with a beacon, so pages served from a cache or CDN still count.
  var article = document.querySelector("[data-beacon]");
  if (article && window.fetch) {
    fetch(article.getAttribute("data-beacon"), { method: "POST", credentials: "omit", keepalive: true })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        var out = document.querySelector("[data-view-count]");
        if (data && typeof data.views === "number" && out) {
          out.textContent = data.views.toLocaleString("en");
        }
      })
      .catch(function () { /* counting is best effort from the reader's side */ });
  }

  // "n/300" as the reader types, counting user-perceived characters as the server does.
  var segmenter = window.Intl && Intl.Segmenter ? new Intl.Segmenter(undefined, { granularity: "grapheme" }) : null;
  function length(text) {
    text = text.trim();
    if (segmenter) {
      var n = 0;
      for (var _ of segmenter.segment(text)) { n++; }
      return n;
    }
    return Array.from(text).length;
  }
  document.querySelectorAll("[data-counter-for]").forEach(function (counter) {
    var field = document.getElementById(counter.getAttribute("data-counter-for"));
    var max = parseInt(counter.getAttribute("data-max"), 10);
    if (!field) { return; }
    function update() {
      var n = length(field.value);
      counter.textContent = n + "/" + max;
      counter.classList.toggle("over", n > max);
    }
    counter.hidden = false;
    field.addEventListener("input", update);
    update();
  });

  // Copy the article's address instead of following the link.
  document.querySelectorAll("[data-copy-link]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (!navigator.clipboard) { return; }
      event.preventDefault();
      navigator.clipboard.writeText(link.href).then(function () {
        link.textContent = "Link copied";
        setTimeout(function () { link.textContent = "Copy link"; }, 2000);
      });
    });
  });
})();
