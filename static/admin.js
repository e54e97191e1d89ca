// The newsroom's small enhancements. Everything works without this file; with it the editor
// autosaves drafts, shows a live preview, warns before leaving unsaved changes, copies links, and
// lets a click on an image set its focal point.
(function () {
  "use strict";
  var csrf = function (form) {
    var field = form.querySelector("input[name=_csrf]");
    return field ? field.value : "";
  };

  var editor = document.getElementById("editor");
  if (editor) {
    var dirty = false;
    var submitting = false;
    var status = editor.querySelector(".autosave-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    editor.addEventListener("input", function () { dirty = true; });
    editor.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty && !submitting) {
        event.preventDefault();
        event.returnValue = "";
      }
    });

    var autosaveUrl = editor.getAttribute("data-autosave");
    // A page that shows a refused save (two versions) must not autosave over the stored one.
    if (autosaveUrl && !document.getElementById("conflict")) {
      var saving = false;
      var stopped = false;
      var version = editor.querySelector("input[name=version]");
      setInterval(function () {
        if (!dirty || saving || submitting || stopped) { return; }
        saving = true;
        dirty = false;
        var body = new URLSearchParams(new FormData(editor));
        body.delete("intent");
        fetch(autosaveUrl, { method: "POST", body: body, headers: { "X-CSRF-Token": csrf(editor) }, credentials: "same-origin" })
          .then(function (response) {
            return response.json().then(function (reply) {
              if (response.ok) {
                // The next save is based on the version this one made.
                if (version && reply.version) { version.value = reply.version; }
                say("Draft saved automatically at " + new Date(reply.saved_at).toLocaleTimeString() + ".");
              } else if (reply.code === "stale_version") {
                // Someone else saved meanwhile: stop, keep the text, and let Save show both versions.
                stopped = true;
                dirty = true;
                if (status) { status.setAttribute("role", "alert"); status.classList.add("error"); }
                say((reply.errors || []).join(" "));
              } else {
                dirty = true;
                say("Not saved automatically: " + (reply.errors || []).join(" "));
              }
            });
          })
          .catch(function () { dirty = true; say("Not saved automatically: the connection failed. Your text is still here."); })
          .then(function () { saving = false; });
      }, 5000);
    }

    var body = editor.querySelector("textarea[data-preview]");
    var target = body && document.getElementById(body.getAttribute("data-preview"));
    if (body && target) {
      var timer = null;
      var render = function () {
        var form = new URLSearchParams();
        form.set("body", body.value);
        fetch("/admin/preview", { method: "POST", body: form, headers: { "X-CSRF-Token": csrf(editor) }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : null; })
          .then(function (reply) { if (reply) { target.innerHTML = reply.html; } })
          .catch(function () {});
      };
      body.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(render, 400);
      });
      render();
    }
  }

  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
      }
    });
  });

  var image = document.getElementById("focal-image");
  var fx = document.getElementById("focal_x");
  var fy = document.getElementById("focal_y");
  if (image && fx && fy) {
    var marker = document.createElement("span");
    marker.className = "focal-marker";
    image.parentNode.appendChild(marker);
    var place = function () {
      marker.style.left = (image.offsetLeft + image.clientWidth * fx.value / 100) + "px";
      marker.style.top = (image.offsetTop + image.clientHeight * fy.value / 100) + "px";
    };
    image.addEventListener("click", function (event) {
      var box = image.getBoundingClientRect();
      fx.value = Math.round((event.clientX - box.left) / box.width * 100);
      fy.value = Math.round((event.clientY - box.top) / box.height * 100);
      place();
    });
    fx.addEventListener("input", place);
    fy.addEventListener("input", place);
    if (image.complete) { place(); } else { image.addEventListener("load", place); }
  }
})();
