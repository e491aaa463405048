// The sign-in screen of a portal or kiosk: start a cross-device request with a PKCE pair kept
// in this page only, show its QR and number, poll until the phone decides (RFC 8628 errors).
(function () {
  "use strict";
  var root = document.getElementById("signin");
  var api = root.dataset.api;
  var clientId = root.dataset.client;
  var status = document.getElementById("status");
  var again = document.getElementById("again");
  var timer = null;

  function b64url(bytes) {
    var text = "";
    new Uint8Array(bytes).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function pkce() {
    var verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)).then(function (d) {
      return { verifier: verifier, challenge: b64url(d) };
    });
  }

  function post(path, body) {
    return fetch(api + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept-Language": "vi" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (json) { return { status: response.status, body: json }; });
    });
  }

  function show(state, text) {
    root.dataset.state = state;
    status.textContent = text;
    document.getElementById("waiting").hidden = state !== "waiting";
    again.hidden = ["expired", "denied", "failed"].indexOf(state) < 0;
  }

  function signedIn(tokens) {
    sessionStorage.setItem("dvc.tokens", JSON.stringify(tokens));
    return fetch(api + "/me", { headers: { Authorization: "Bearer " + tokens.access_token } })
      .then(function (response) { return response.json(); })
      .then(function (me) {
        document.getElementById("who").textContent = me.full_name || me.phone;
        document.getElementById("done").hidden = false;
        show("signed-in", "Đã đăng nhập · Signed in");
      });
  }

  function poll(started, verifier, interval) {
    timer = setTimeout(function () {
      post("/auth/cross-device/" + started.request_id + "/token", { code_verifier: verifier })
        .then(function (answer) {
          var error = answer.body.error;
          if (answer.status === 200) return signedIn(answer.body);
          if (error === "authorization_pending") return poll(started, verifier, interval);
          if (error === "slow_down") return poll(started, verifier, answer.body.interval);
          if (error === "expired_token") return show("expired", "Mã đã hết hạn · The code expired");
          if (error === "access_denied") return show("denied", "Đã bị từ chối · Denied on the phone");
          show("failed", answer.body.title || "Lỗi · Error");
        })
        .catch(function () { poll(started, verifier, interval); }); // a network blip: ask again
    }, interval * 1000);
  }

  function countdown(expiresAt) {
    var left = document.getElementById("left");
    (function tick() {
      var seconds = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      left.textContent = "Còn " + seconds + " giây · " + seconds + " s left";
      if (seconds > 0 && root.dataset.state === "waiting") setTimeout(tick, 1000);
    })();
  }

  function start() {
    clearTimeout(timer);
    show("starting", "Đang chuẩn bị… · Preparing…");
    pkce().then(function (pair) {
      return post("/auth/cross-device", { client_id: clientId, code_challenge: pair.challenge })
        .then(function (answer) {
          if (answer.status !== 201) return show("failed", answer.body.title || "Lỗi · Error");
          var started = answer.body;
          root.dataset.request = started.request_id;
          document.getElementById("qr").src = root.dataset.qr + encodeURIComponent(started.request_id) + ".svg";
          document.getElementById("code").textContent = started.display_code;
          show("waiting", "Đang chờ điện thoại xác nhận · Waiting for your phone");
          countdown(Date.now() + started.expires_in * 1000);
          poll(started, pair.verifier, started.interval);
        });
    });
  }

  again.addEventListener("click", start);
  start();
})();
