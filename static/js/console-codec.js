/* Decode the page's payloads with the namespace's codec server, as Temporal's UI does.
 *
 * Every element with data-payloads holds payloads as stored (Temporal's JSON form of Payloads:
 * {"payloads": [{"metadata": {...}, "data": "<base64>"}]}). This POSTs that to
 * <endpoint>/decode with the headers Temporal's UI sends (Content-Type: application/json,
 * X-Namespace), and shows the decoded values as JSON: one value as itself, several as a list.
 * When the codec server fails, the console's own decoding stays and a small note says why.
 * Elements htmx brings in later (more events) are decoded too.
 */
(function () {
  "use strict";
  var config = document.getElementById("console-codec");
  if (!config) { return; }
  var endpoint = config.getAttribute("data-endpoint").replace(/\/+$/, "");
  var namespace = config.getAttribute("data-namespace");
  var credentials = config.getAttribute("data-credentials") === "include" ? "include" : "same-origin";

  function bytesOf(base64) {
    var binary = atob(base64 || "");
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes;
  }

  function text(base64) { return new TextDecoder().decode(bytesOf(base64)); }

  /* A decoded payload as a value: JSON and null as themselves, anything else as its encoding and bytes. */
  function valueOf(payload) {
    var metadata = payload.metadata || {};
    var encoding = metadata.encoding ? text(metadata.encoding) : "";
    if (encoding === "json/plain" || encoding === "json/protobuf") { return JSON.parse(text(payload.data)); }
    if (encoding === "binary/null") { return null; }
    return { encoding: encoding, base64: payload.data || "" };
  }

  function note(element, message, failed) {
    var next = element.nextElementSibling;
    if (!next || !next.classList.contains("codec-note")) {
      next = document.createElement("small");
      next.className = "codec-note";
      element.insertAdjacentElement("afterend", next);
    }
    next.classList.toggle("failed", failed);
    next.textContent = message;
  }

  function decode(element) {
    if (element.hasAttribute("data-codec")) { return; }
    element.setAttribute("data-codec", "pending");
    fetch(endpoint + "/decode", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Namespace": namespace },
      credentials: credentials,
      body: element.getAttribute("data-payloads")
    }).then(function (response) {
      if (!response.ok) { throw new Error("the codec server answered " + response.status); }
      return response.json();
    }).then(function (decoded) {
      var values = (decoded.payloads || []).map(valueOf);
      element.textContent = JSON.stringify(values.length === 1 ? values[0] : values, null, 2);
      element.setAttribute("data-codec", "decoded");
      note(element, "Decoded by the codec server.", false);
    }).catch(function (error) {
      element.setAttribute("data-codec", "failed");
      note(element, "The codec server could not decode this (" + error.message + "); the console's own decoding is shown.", true);
    });
  }

  function decodeWithin(root) {
    if (root.matches && root.matches("[data-payloads]")) { decode(root); }
    if (root.querySelectorAll) { root.querySelectorAll("[data-payloads]").forEach(decode); }
  }

  decodeWithin(document);
  document.body.addEventListener("htmx:load", function (event) { decodeWithin(event.detail.elt); });
  new MutationObserver(function (changes) {  /* events the live updates append */
    changes.forEach(function (change) { change.addedNodes.forEach(decodeWithin); });
  }).observe(document.body, { childList: true, subtree: true });
})();
