// Sessions: a warning a few minutes before the session ends, with "Stay signed in"; and what a
// person typed into a form that was sent after the session had ended, kept in sessionStorage and
// put back into the same form once they have logged in again.
(function () {
  const DRAFT = "neurolens-draft";
  const REAUTH = "neurolens-reauth";
  const body = document.body;

  // ---- Drafts -------------------------------------------------------------------------------
  function here() { return location.pathname + location.search; }
  function store(key, value) { try { sessionStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  function read(key) { try { return sessionStorage.getItem(key); } catch (e) { return null; } }
  function drop(key) { try { sessionStorage.removeItem(key); } catch (e) { /* private mode */ } }

  function keep(form) {
    const fields = {};
    Array.from(form.elements).forEach(function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.disabled) return;
      if (["password", "file", "hidden", "submit", "button"].includes(el.type)) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      fields[el.name] = el.value;
    });
    if (Object.keys(fields).length) {
      store(DRAFT, JSON.stringify({page: here(), action: form.getAttribute("action") || "", fields: fields}));
    }
  }

  function restore() {
    let draft = null;
    try { draft = JSON.parse(read(DRAFT) || "null"); } catch (e) { draft = null; }
    drop(DRAFT);
    drop(REAUTH);
    if (!draft || draft.page !== here()) return;
    const form = Array.from(document.querySelectorAll("form[method=post]")).find(function (f) {
      return (f.getAttribute("action") || "") === draft.action;
    });
    if (!form) return;
    Object.keys(draft.fields).forEach(function (name) {
      Array.from(form.elements).filter(function (el) { return el.name === name; }).forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") el.checked = el.value === draft.fields[name];
        else el.value = draft.fields[name];
      });
    });
    const note = document.createElement("div");
    note.className = "alert alert-info";
    note.setAttribute("role", "status");
    note.dataset.testid = "draft-restored";
    note.textContent = "Your session had expired, so this was not saved. What you typed is back in the form: check it and send it again.";
    form.prepend(note);
  }

  const onLogin = Boolean(document.querySelector("[data-login-page]"));
  document.addEventListener("submit", function (e) {
    if (!onLogin && e.target.matches("form[method=post]")) keep(e.target);
  }, true);

  if (onLogin) {
    // Keep the draft through the login page (and a mistyped password) until the user is back.
    if (document.querySelector("[data-session-expired]")) store(REAUTH, "1");
  } else if (read(REAUTH)) {
    restore();
  } else {
    drop(DRAFT);  // the form was sent while signed in: nothing to keep
  }
  // An HTMX form that was answered normally needs no draft either.
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful && !e.detail.xhr.getResponseHeader("HX-Redirect")) drop(DRAFT);
  });

  // ---- Expiry warning ------------------------------------------------------------------------
  const box = document.getElementById("session-warning");
  if (!box || !body.dataset.sessionRemaining) return;
  const text = document.getElementById("session-warning-text");
  const stay = box.querySelector("[data-session-stay]");
  const login = box.querySelector("[data-session-login]");
  const warnBefore = Number(body.dataset.sessionWarning) * 1000;
  let deadline = Date.now() + Number(body.dataset.sessionRemaining) * 1000;
  let timer = null;

  function clock(ms) {
    return new Date(ms).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  }
  function schedule() {
    clearTimeout(timer);
    const left = deadline - Date.now();
    if (left <= 0) return ended();
    if (left > warnBefore) { box.hidden = true; timer = setTimeout(check, left - warnBefore); return; }
    const minutes = Math.max(1, Math.round(left / 60000));
    text.textContent = "Your session ends at " + clock(deadline) + " (in about " + minutes +
      (minutes === 1 ? " minute" : " minutes") + "). Anything not yet saved is lost then.";
    stay.hidden = false;
    login.hidden = true;
    box.hidden = false;
    timer = setTimeout(schedule, Math.min(left, 30000));
  }
  function ended() {
    text.textContent = "Your session has ended. Log in again to carry on.";
    login.href = body.dataset.loginUrl + "?" + new URLSearchParams({next: here(), expired: "1"});
    stay.hidden = true;
    login.hidden = false;
    box.hidden = false;
  }
  function update(response) {
    return response.json().then(function (data) {
      deadline = Date.now() + data.remaining * 1000;
      schedule();
    });
  }
  function check() {
    // Another tab may have extended the session: ask before warning.
    fetch(body.dataset.sessionStatus, {credentials: "same-origin"}).then(update).catch(schedule);
  }
  stay.addEventListener("click", function () {
    const token = JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
    fetch(body.dataset.sessionExtend, {method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": token}})
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return update(r); })
      .then(function () { box.hidden = true; })
      .catch(ended);
  });
  schedule();
})();
