/* A tiny DevExpress-like client for erpsim: grid/editor controls, serialized callbacks,
   loading panels, toolbar and postbacks. Every control is also window[clientName]. */
(function () {
  "use strict";
  var controls = {};
  var queue = [];
  var running = null;
  var redirecting = false;

  function byId(id) { return document.getElementById(id); }
  function show(id, on) { var e = byId(id); if (e) { e.style.display = on ? "" : "none"; } }

  function Control(name, state) {
    this.name = name;
    this.state = state || {};
    this.pending = 0;
    controls[name] = this;
    window[name] = this;
  }
  Control.prototype.InCallback = function () { return this.pending > 0 || redirecting; };
  Control.prototype.GetPageIndex = function () { return this.state.page || 0; };
  Control.prototype.GetPageCount = function () { return this.state.page_count || 1; };
  Control.prototype.GetVisibleRowsOnPage = function () { return this.state.rows || 0; };
  Control.prototype.GetRowCount = function () { return this.state.total || 0; };
  Control.prototype.PerformCallback = function (param) {
    var p = {};
    var k;
    for (k in this.state) { p[k] = this.state[k]; }
    for (k in param) { p[k] = param[k]; }
    send(this, p);
  };
  Control.prototype.GotoPage = function (i) {
    if (i < 0 || i >= this.GetPageCount()) { return; }
    this.PerformCallback({ cmd: "PAGE", page: i });
  };
  Control.prototype.NextPage = function () { this.GotoPage(this.GetPageIndex() + 1); };
  Control.prototype.PrevPage = function () { this.GotoPage(this.GetPageIndex() - 1); };
  Control.prototype.SetPageSize = function (n) { this.PerformCallback({ cmd: "PAGESIZE", page: 0, page_size: n }); };
  Control.prototype.ApplySearchFilter = function (text) { this.PerformCallback({ cmd: "SEARCH", search: text, page: 0 }); };
  Control.prototype.Refresh = function () { this.PerformCallback({ cmd: "REFRESH" }); };
  Control.prototype.GetSelectedKeysOnPage = function () {
    var keys = [];
    var root = byId(this.name);
    if (!root) { return keys; }
    root.querySelectorAll("input.dxgvSelectCheck:checked").forEach(function (c) {
      keys.push(c.closest("tr").getAttribute("data-key"));
    });
    return keys;
  };
  Control.prototype.AddNewRow = function () { this.PerformCallback({ cmd: "AddNew" }); };
  Control.prototype.CancelEdit = function () { this.PerformCallback({ cmd: "CancelEdit" }); };
  Control.prototype.UpdateEdit = function () {
    // The editing row: `editnew` for a new line, or an existing line being edited. Numbers go
    // to the server invariant, parsed in the browser's culture as the real spin editors do.
    var root = byId(this.name);
    var row = root ? root.querySelector("tr.dxgvEditingRow_XafTheme") : null;
    function input(sel) { return row ? row.querySelector(sel) : null; }
    function val(sel) { var e = input(sel); return e ? e.value : ""; }
    function num(sel) { var e = input(sel); return e ? parseCulture(e.value) : ""; }
    this.PerformCallback({
      cmd: "UpdateEdit",
      row: row ? row.getAttribute("data-row") : "new",
      article: val('input[id*="INVENTTABLE"][id$="_I"]'),
      variant: val('input[id*="INVENTTABLE"][id$="_VI"]'),
      qty: num('input[id*="dviQTYORDERED_Edit_I"]'),
      disc: num('input[id*="dviMANUALDISCOUNT_Edit_I"]')
    });
  };
  Control.prototype.IsEditing = function () {
    var root = byId(this.name);
    return !!(root && root.querySelector("tr.dxgvEditingRow_XafTheme"));
  };
  Control.prototype.GetColumnCount = function () { return (this.state.columns || []).length; };
  Control.prototype.GetColumn = function (i) {
    var c = (this.state.columns || [])[i];
    if (!c) { return null; }
    return { index: i, fieldName: c.fieldName, visibleIndex: c.visibleIndex, visible: c.visible, caption: null };
  };
  // Values of (hidden) columns for every row on the page: one server callback, as the real grid.
  Control.prototype.GetPageRowValues = function (fieldNames, onCallback) {
    var fields = typeof fieldNames === "string" ? fieldNames.split(";") : fieldNames;
    send(this, { cmd: "ROWVALUES", fields: fields }, function (res) { onCallback(res.rowValues || []); });
  };
  Control.prototype.StartEditRow = function (i) { this.PerformCallback({ cmd: "StartEdit", row: i }); };
  Control.prototype.DeleteRow = function (i) { this.PerformCallback({ cmd: "DeleteRow", row: i }); };

  function lpvOf(ctrl) { return ctrl.name + "_LPV"; }

  // Culture of the browser (navigator.language), as the real editors: "1.234,5" it, "1,234.5" en.
  function italianBrowser() { return (navigator.language || "").toLowerCase().indexOf("it") === 0; }
  function parseCulture(text) {
    var t = String(text || "").replace(/[%\s€$]|EUR/g, "");
    if (!t) { return ""; }
    t = italianBrowser() ? t.replace(/\./g, "").replace(",", ".") : t.replace(/,/g, "");
    return t;
  }
  function parseCultureDate(text) {
    var m = String(text || "").trim().match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})/);
    if (!m) { return String(text || "").trim(); }
    var day = italianBrowser() ? m[1] : m[2], month = italianBrowser() ? m[2] : m[1];
    return m[3] + "-" + ("0" + month).slice(-2) + "-" + ("0" + day).slice(-2);
  }
  function formatValues(root) {
    if (!window.ASPxFormat) { return; }
    root.querySelectorAll("[data-dx-fmt][data-dx-raw]").forEach(function (e) {
      var raw = e.getAttribute("data-dx-raw");
      if (!raw) { return; }
      var text = window.ASPxFormat(e.getAttribute("data-dx-fmt"), raw);
      if (e.tagName === "INPUT" || e.tagName === "TEXTAREA") { e.value = text; } else { e.textContent = text; }
    });
  }

  function send(ctrl, param, onDone) {
    ctrl.pending += 1;
    show(lpvOf(ctrl), true);
    // Incremental filters coalesce: a queued, not yet sent filter of the same editor is replaced.
    if (param.cmd === "FILTER") {
      for (var i = 0; i < queue.length; i++) {
        if (queue[i].ctrl === ctrl && queue[i].param.cmd === "FILTER") {
          queue[i].param = param;
          ctrl.pending -= 1;
          return;
        }
      }
    }
    queue.push({ ctrl: ctrl, param: param, onDone: onDone });
    pump();
  }

  function pump() {
    if (running || !queue.length || redirecting) { return; }
    var job = queue.shift();
    running = job;
    var body = new URLSearchParams();
    ["__VIEWSTATE", "__VIEWSTATEGENERATOR", "__EVENTVALIDATION"].forEach(function (f) {
      var e = byId(f);
      if (e) { body.append(f, e.value); }
    });
    body.append("__CALLBACKID", job.ctrl.name);
    body.append("__CALLBACKPARAM", JSON.stringify(job.param));
    fetch(location.pathname + location.search, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" }
    }).then(function (r) {
      if (!r.ok) { return { error: "Errore del server (HTTP " + r.status + "). Riprovare." }; }
      return r.json();
    }).then(function (res) { done(job, res); }, function (err) {
      done(job, { error: "Errore di comunicazione: " + err });
    });
  }

  function done(job, res) {
    if (res.redirect) {
      redirecting = true;
      window.location.href = res.redirect;
      return;
    }
    var id;
    if (res.updates) {
      for (id in res.updates) {
        var e = byId(id);
        if (e) { e.innerHTML = res.updates[id]; scan(e); }
      }
    }
    if (res.values) {
      for (id in res.values) { var v = byId(id); if (v) { v.value = res.values[id]; } }
    }
    (res.show || []).forEach(function (i) { show(i, true); });
    (res.hide || []).forEach(function (i) { show(i, false); });
    if (res.state && res.control && controls[res.control]) { controls[res.control].state = res.state; }
    if (res.url) { history.replaceState(null, "", res.url); }
    if (res.error) {
      var pop = byId("Vertical_CallbackErrorPopup");
      if (pop) { pop.textContent = res.error; pop.style.display = ""; }
    }
    job.ctrl.pending -= 1;
    if (job.ctrl.pending <= 0) { job.ctrl.pending = 0; show(lpvOf(job.ctrl), false); }
    running = null;
    if (job.onDone) { job.onDone(res); }
    refreshToolbar();
    pump();
  }

  function scan(root) {
    root.querySelectorAll("[data-dx-control]").forEach(function (e) {
      var name = e.getAttribute("data-dx-control");
      var state = {};
      try { state = JSON.parse(e.getAttribute("data-dx-state") || "{}"); } catch (x) { state = {}; }
      if (controls[name]) { controls[name].state = state; } else { new Control(name, state); }
    });
    formatValues(root);
  }

  function refreshToolbar() {
    var grid = controls.Vertical_v1_LE_v2;
    var selected = grid ? grid.GetSelectedKeysOnPage().length : 0;
    document.querySelectorAll("li[data-needs-selection]").forEach(function (li) {
      li.classList.toggle("dxm-disabled", selected === 0);
    });
  }

  function doPostBack(target, argument) {
    var form = byId("form1");
    byId("__EVENTTARGET").value = target;
    byId("__EVENTARGUMENT").value = argument;
    form.action = location.pathname + location.search;
    form.submit();
  }
  window.__doPostBack = doPostBack;

  function menuCommand(cmd, li, a) {
    var grid = controls.Vertical_v1_LE_v2;
    var href = a.getAttribute("data-href");
    if (cmd === "New") { location.href = href || "/Archibald/SALESTABLE_DetailViewAgent/?NewObject=true"; }
    else if (cmd === "Edit") { location.href = location.pathname + "?mode=Edit"; }
    else if (cmd === "Reload") { location.reload(); }
    else if (cmd === "Refresh" && grid) { grid.Refresh(); }
    else if ((cmd === "Delete" || cmd === "Send") && grid) {
      var question = cmd === "Delete" ? "Cancellare gli oggetti selezionati?" : "Inviare gli ordini selezionati a Verona?";
      if (window.confirm(question)) { grid.PerformCallback({ cmd: cmd, keys: grid.GetSelectedKeysOnPage() }); }
    }
    else if (cmd === "Save" || cmd === "SaveAndNew" || cmd === "SaveAndClose") { doPostBack("Vertical$mainMenu", cmd); }
    else if (cmd === "Cancel") { if (href) { location.href = href; } else { doPostBack("Vertical$mainMenu", cmd); } }
    else if (cmd === "Close") { location.href = href || "/Archibald/SALESTABLE_ListView_Agent/"; }
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    var el;
    if ((el = t.closest("[data-menu-popout]"))) {
      ev.preventDefault();
      var popup = el.parentNode.querySelector("ul.dxm-popup");
      if (popup) { popup.style.display = popup.style.display === "none" ? "" : "none"; }
      return;
    }
    if ((el = t.closest("li[data-dx-tab]"))) {
      ev.preventDefault();
      var tabs = el.getAttribute("data-dx-tab"), index = el.getAttribute("data-dx-tab-index");
      document.querySelectorAll('li[data-dx-tab="' + tabs + '"]').forEach(function (li) {
        var on = li.getAttribute("data-dx-tab-index") === index;
        li.classList.toggle("dxtc-activeTab", on);
        li.classList.toggle("dxtc-psi", on);
        show(tabs + "_C" + li.getAttribute("data-dx-tab-index"), on);
      });
      return;
    }
    if ((el = t.closest("[data-menu-cmd]"))) {
      ev.preventDefault();
      ev.stopPropagation();
      var li = el.closest("li");
      if (li && li.classList.contains("dxm-disabled")) { return; }
      menuCommand(el.getAttribute("data-menu-cmd"), li, el);
      return;
    }
    if ((el = t.closest("a[data-dx-page]"))) {
      ev.preventDefault();
      if (el.classList.contains("dxp-disabled")) { return; }
      var g = controls[el.closest("[data-dx-grid]").getAttribute("data-dx-grid")];
      if (el.getAttribute("data-dx-page") === "next") { g.NextPage(); } else { g.PrevPage(); }
      return;
    }
    if ((el = t.closest("a[data-args]"))) {
      ev.preventDefault();
      var grid = controls[el.closest("[data-dx-grid]").getAttribute("data-dx-grid")];
      var args = el.getAttribute("data-args");
      var m = args.match(/'(StartEdit|DeleteRow)',\s*(\d+)/);
      if (m && m[1] === "StartEdit") { grid.StartEditRow(parseInt(m[2], 10)); }
      else if (m) { if (window.confirm("Confermare l'eliminazione?")) { grid.DeleteRow(parseInt(m[2], 10)); } }
      else if (args.indexOf("AddNew") >= 0) { grid.AddNewRow(); }
      else if (args.indexOf("UpdateEdit") >= 0) { grid.UpdateEdit(); }
      else if (args.indexOf("CancelEdit") >= 0) { grid.CancelEdit(); }
      return;
    }
    if (t.matches("input.dxgvSelectCheck")) { refreshToolbar(); return; }
    if (t.matches("img[title=Modifica]") && t.getAttribute("data-href")) { location.href = t.getAttribute("data-href"); return; }
    if ((el = t.closest("[data-dx-dropdown]"))) {
      var pw = byId(el.getAttribute("data-dx-dropdown") + "_DDD_PW-1");
      if (pw) { pw.style.display = pw.style.display === "none" ? "" : "none"; }
      return;
    }
    if ((el = t.closest("tr[data-dx-article]"))) {
      var ed = el.closest("[data-dx-control]").getAttribute("data-dx-control").replace(/_DDD_gv$/, "");
      byId(ed + "_I").value = el.getAttribute("data-dx-article");
      byId(ed + "_VI").value = el.getAttribute("data-variant");
      show(ed + "_DDD_PW-1", false);
      return;
    }
    if ((el = t.closest("tr.dxgvDataRow_XafTheme")) && el.closest("[data-dx-lookup]")) {
      var editor = controls[el.closest("[data-dx-lookup]").getAttribute("data-dx-lookup")];
      editor.PerformCallback({ cmd: "SELECT", key: el.getAttribute("data-key") });
    }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") { return; }
    var t = ev.target;
    if (t.closest && t.closest(".LogonTemplate")) { return; }
    if (t.tagName === "TEXTAREA") { return; }
    if (t.tagName === "INPUT") { ev.preventDefault(); }
    if (t.hasAttribute("data-dx-search")) { controls[t.getAttribute("data-dx-search")].ApplySearchFilter(t.value); }
    else if (t.hasAttribute("data-dx-pagesize")) {
      var g = controls[t.closest("[data-dx-grid]").getAttribute("data-dx-grid")];
      g.SetPageSize(parseInt(t.value, 10) || 20);
    }
  });

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-dx-incremental")) {
      var name = t.getAttribute("data-dx-incremental");
      byId(name + "_VI").value = "";
      controls[name].PerformCallback({ cmd: "FILTER", text: t.value });
    }
  });

  // Typed numbers and dates keep their invariant value in the editor's `_Raw` input.
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!t.id || !/_I$/.test(t.id) || !t.hasAttribute("data-dx-fmt")) { return; }
    var raw = byId(t.id.replace(/_I$/, "_Raw"));
    if (!raw) { return; }
    var kind = t.getAttribute("data-dx-fmt");
    raw.value = kind === "date" || kind === "datetime" ? parseCultureDate(t.value) : parseCulture(t.value);
  });

  // Editors with a server-side check on leaving them (the customer's VAT number).
  document.addEventListener("focusout", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-dx-blurcallback")) {
      var name = t.getAttribute("data-dx-blurcallback");
      if (t.value !== t.getAttribute("data-dx-checked")) {
        t.setAttribute("data-dx-checked", t.value);
        controls[name].PerformCallback({ cmd: "VATCHECK", value: t.value });
      }
    }
  });

  window.ASPx = {
    controls: controls,
    anyInCallback: function () {
      if (running || queue.length || redirecting) { return true; }
      for (var n in controls) { if (controls[n].pending > 0) { return true; } }
      return false;
    }
  };
  window.ASPxClientControl = {
    GetControlCollection: function () {
      return {
        elements: controls,
        GetByName: function (n) { return controls[n] || null; },
        ForEachControl: function (fn) { for (var n in controls) { fn(controls[n]); } }
      };
    }
  };
  document.addEventListener("DOMContentLoaded", function () { scan(document); refreshToolbar(); });
})();
