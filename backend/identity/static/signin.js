// The sign-in screen of a portal or kiosk: start a cross-device request with a PKCE pair kept
// in this page only, show its QR and number, poll until the phone decides (RFC 8628 errors).
// A computer that holds a passkey signs in with it instead; once signed in, it may make one.
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

  function post(path, body, tokens) {
    var headers = { "Content-Type": "application/json", "Accept-Language": "vi" };
    if (tokens) headers.Authorization = "Bearer " + tokens.access_token;
    return fetch(api + path, { method: "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (response) {
        if (response.status === 204) return { status: 204, body: {} };
        return response.json().then(function (json) { return { status: response.status, body: json }; });
      });
  }

  var device = { name: "Trình duyệt · Browser", platform: "web" };
  var passkeys = window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON;

  function show(state, text) {
    root.dataset.state = state;
    status.textContent = text;
    document.getElementById("waiting").hidden = state !== "waiting";
    again.hidden = ["expired", "denied", "failed"].indexOf(state) < 0;
    document.getElementById("with-passkey").hidden = !passkeys || state === "signed-in";
  }

  function signedIn(tokens) {
    sessionStorage.setItem("dvc.tokens", JSON.stringify(tokens));
    return fetch(api + "/me", { headers: { Authorization: "Bearer " + tokens.access_token } })
      .then(function (response) { return response.json(); })
      .then(function (me) {
        clearTimeout(timer);
        document.getElementById("who").textContent = me.full_name || me.phone;
        document.getElementById("done").hidden = false;
        document.getElementById("make-passkey").hidden = !passkeys;
        show("signed-in", "Đã đăng nhập · Signed in");
      });
  }

  function withPasskey() {
    post("/auth/passkey/options", {}).then(function (asked) {
      var options = PublicKeyCredential.parseRequestOptionsFromJSON(asked.body.publicKey);
      return navigator.credentials.get({ publicKey: options }).then(function (credential) {
        return post("/auth/passkey/verify", {
          challenge_id: asked.body.challenge_id, credential: credential.toJSON(), device: device,
        });
      });
    }).then(function (answer) {
      if (answer.status === 200) return signedIn(answer.body);
      show("failed", answer.body.title || "Lỗi · Error");
    }).catch(function () { show("failed", "Không dùng được khóa truy cập · The passkey was not used"); });
  }

  function makePasskey() {
    var tokens = JSON.parse(sessionStorage.getItem("dvc.tokens"));
    var said = document.getElementById("passkey-status");
    post("/me/passkeys/registration-options", {}, tokens).then(function (asked) {
      if (asked.status !== 200) throw new Error(asked.body.title);
      var options = PublicKeyCredential.parseCreationOptionsFromJSON(asked.body.publicKey);
      return navigator.credentials.create({ publicKey: options }).then(function (credential) {
        return post("/me/passkeys", {
          challenge_id: asked.body.challenge_id, credential: credential.toJSON(), name: "Máy tính · Computer",
        }, tokens);
      });
    }).then(function (answer) {
      if (answer.status !== 201) throw new Error(answer.body.title);
      root.dataset.passkey = "made";
      said.textContent = "Đã tạo khóa truy cập · Passkey created";
      document.getElementById("make-passkey").hidden = true;
    }).catch(function (error) { said.textContent = (error && error.message) || "Lỗi · Error"; });
  }

  function signOut() {
    var tokens = JSON.parse(sessionStorage.getItem("dvc.tokens"));
    sessionStorage.removeItem("dvc.tokens");
    document.getElementById("done").hidden = true;
    document.getElementById("passkey-status").textContent = "";
    post("/auth/logout", {}, tokens).then(start, start);
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
  document.getElementById("passkey").addEventListener("click", withPasskey);
  document.getElementById("make-passkey").addEventListener("click", makePasskey);
  document.getElementById("sign-out").addEventListener("click", signOut);
  start();
})();
