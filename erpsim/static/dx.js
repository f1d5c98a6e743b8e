/* A small DevExpress-like client for erpsim, limited to the API the real Archibald pages have
   (../shared/erp-real/FACTS.md §9): the control collection (ForEachControl / GetByName), grid
   methods, ASPx.POnPageSizeBlur / ASPx.BEClick. Only list grids (`…_LE_vN`) are also globals.
   Callbacks are serialized per page; a control InCallback() until its answer is applied. */
(function () {
  "use strict";
  var controls = {};
  var queue = [];
  var running = null;
  var LIST_GRID_RE = /^Vertical_v\d+_\d+_LE_v\d+$/;

  function byId(id) { return document.getElementById(id); }
  function show(id, on) {
    var e = byId(id);
    if (e) { e.style.display = on ? "" : "none"; }
    if (e && on && e.hasAttribute("data-dx-owner")) { placeDropDown(e); }
  }

  function Control(name, state) {
    this.name = name;
    this.state = state || {};
    this.pending = 0;
    controls[name] = this;
    if (LIST_GRID_RE.test(name)) { window[name] = this; }
  }
  Control.prototype.GetMainElement = function () { return byId(this.name); };
  Control.prototype.InCallback = function () { return this.pending > 0; };
  Control.prototype.PerformCallback = function (param) {
    var p = {};
    var k;
    for (k in this.state) { if (k !== "columns" && k !== "items") { p[k] = this.state[k]; } }
    for (k in param) { p[k] = param[k]; }
    send(this, p);
  };
  // Grid view.
  Control.prototype.GetPageIndex = function () { return this.state.page || 0; };
  Control.prototype.GetPageCount = function () { return this.state.page_count || 1; };
  Control.prototype.GetVisibleRowsOnPage = function () { return this.rowElements().length; };
  Control.prototype.GetRowCount = function () { return this.state.total || 0; };
  Control.prototype.GetColumnCount = function () { return (this.state.columns || []).length; };
  Control.prototype.GetColumn = function (i) {
    var c = (this.state.columns || [])[i];
    if (!c) { return null; }
    return { index: i, fieldName: c.fieldName, name: c.fieldName, visible: !!c.visible,
             visibleIndex: c.visibleIndex, caption: null };
  };
  Control.prototype.GotoPage = function (i) {
    if (i < 0 || i >= this.GetPageCount()) { return; }
    this.PerformCallback({ cmd: "PAGE", page: i });
  };
  Control.prototype.NextPage = function () { this.GotoPage(this.GetPageIndex() + 1); };
  Control.prototype.PrevPage = function () { this.GotoPage(this.GetPageIndex() - 1); };
  Control.prototype.Refresh = function () { this.PerformCallback({ cmd: "REFRESH" }); };
  Control.prototype.rowElements = function () {
    var root = byId(this.name);
    if (!root) { return []; }
    var own = this.name;
    return Array.prototype.filter.call(root.querySelectorAll("tr.dxgvDataRow_XafTheme"), function (tr) {
      return tr.id.indexOf(own + "_DXDataRow") === 0;
    });
  };
  Control.prototype.IsEditing = function () {
    var root = byId(this.name);
    return !!(root && root.querySelector("tr.dxgvEditingRow_XafTheme, tr[id*='editnew']"));
  };
  Control.prototype.SelectRowOnPage = function (i, select) {
    var row = this.rowElements()[i];
    var box = row ? row.querySelector("input.dxgvSelectCheck") : null;
    if (box) { box.checked = select !== false; }
    refreshToolbar();
  };
  Control.prototype.UnselectRowOnPage = function (i) { this.SelectRowOnPage(i, false); };
  Control.prototype.GetSelectedKeysOnPage = function () {
    var keys = [];
    this.rowElements().forEach(function (tr) {
      var c = tr.querySelector("input.dxgvSelectCheck");
      if (c && c.checked) { keys.push(tr.getAttribute("data-key")); }
    });
    return keys;
  };
  /* Values of a row's fields, fetched from the server (one callback per call). As on the real
     grid, the control then reports InCallback() for a long while (FACTS §8): bots that use it
     hang their idle waits — read the DOM instead. */
  Control.prototype.GetRowValues = function (visibleIndex, fieldNames, onValues) {
    var fields = typeof fieldNames === "string" ? fieldNames.split(";") : fieldNames;
    this.PerformCallback({ cmd: "ROWVALUES", row: visibleIndex, fields: fields, onValues: onValues });
  };
  Control.prototype.AddNewRow = function () {
    // A grid left editing after its callback (InCallback false, IsEditing true): AddNewRow
    // busy-loops and freezes the page's JavaScript, as on the real ERP (FACTS §9, c:ee4fb0fd).
    if (this.state.stuck_ms && this.IsEditing()) {
      var until = Date.now() + this.state.stuck_ms;
      while (Date.now() < until) { /* frozen */ }
      return;
    }
    this.PerformCallback({ cmd: "AddNew" });
  };
  Control.prototype.CancelEdit = function () { this.PerformCallback({ cmd: "CancelEdit" }); };
  Control.prototype.UpdateEdit = function () {
    // The editing row: `editnew` for a new line, or an existing line being edited. Numbers go
    // to the server invariant, parsed in the browser's culture as the real spin editors do.
    var root = byId(this.name);
    var row = root ? root.querySelector("tr.dxgvEditingRow_XafTheme") : null;
    function input(sel) { return row ? row.querySelector(sel) : null; }
    function val(sel) { var e = input(sel); return e ? e.value : ""; }
    function num(sel) { var e = input(sel); return e ? parseCulture(e.value) : ""; }
    // The editors are read when the callback is sent, after those queued before it (the
    // variant pick's pre-fill of the quantity) have landed.
    this.PerformCallback({
      cmd: "UpdateEdit",
      row: row ? row.getAttribute("data-row") : "new",
      collect: function () {
        return {
          article: val('input[id*="INVENTTABLE"][id$="_I"]'),
          variant: val('input[id*="INVENTTABLE"][id$="_VI"]'),
          qty: num('input[id*="dviQTYORDERED_Edit_I"]'),
          disc: typedNum(input('input[id*="dviMANUALDISCOUNT_Edit_I"]'))
        };
      }
    });
  };
  // Values of (hidden) columns for every row on the page: one server callback, as the real grid.
  Control.prototype.GetPageRowValues = function (fieldNames, onCallback) {
    var fields = typeof fieldNames === "string" ? fieldNames.split(";") : fieldNames;
    // The grid's own state goes with it (its search; a documents list's loaded flag).
    send(this, { cmd: "ROWVALUES", fields: fields, page: this.GetPageIndex(),
                 search: this.state.search || "", loaded: !!this.state.loaded },
         function (res) {
           // List grids answer typed [kind, raw] cells: Dates and Numbers, as the real API.
           onCallback((res.rowValues || []).map(function (row) {
             return row.map(function (v) { return Array.isArray(v) ? typedValue(v) : v; });
           }));
         });
  };
  /* SortBy(column, sortOrder, reset, sortIndex) as documented for ASPxClientGridView: column
     by object, index or fieldName; sortOrder 'ASC' | 'DSC' | 'NONE' (omitted: toggle);
     reset (default true) clears the other columns' sort, else the column goes to sortIndex.
     A server callback: the sort is the user's server-side state, like the page size. */
  Control.prototype.SortBy = function (column, sortOrder, reset, sortIndex) {
    var cols = this.state.columns || [];
    var field = column;
    if (typeof column === "number") { field = cols[column] ? cols[column].fieldName : ""; }
    else if (column && typeof column === "object") { field = column.fieldName; }
    this.PerformCallback({ cmd: "SORT", field: String(field || ""), order: sortOrder || "",
                           reset: reset !== false, index: typeof sortIndex === "number" ? sortIndex : -1 });
  };
  Control.prototype.StartEditRow = function (i) { this.PerformCallback({ cmd: "StartEdit", row: i }); };
  Control.prototype.DeleteRow = function (i) { this.PerformCallback({ cmd: "DeleteRow", row: i }); };
  // Combo box (the list filter): SetValue posts the choice, and the server re-renders the page.
  Control.prototype.GetValue = function () { return this.state.value; };
  Control.prototype.GetText = function () {
    var item = this.FindItemByValue(this.state.value);
    return item ? item.text : "";
  };
  Control.prototype.GetItemCount = function () { return (this.state.items || []).length; };
  Control.prototype.GetItem = function (i) {
    var it = (this.state.items || [])[i];
    return it ? { index: i, text: it.text, value: it.value } : null;
  };
  Control.prototype.FindItemByValue = function (v) {
    var items = this.state.items || [];
    for (var i = 0; i < items.length; i++) { if (items[i].value === v) { return this.GetItem(i); } }
    return null;
  };
  Control.prototype.SetValue = function (v) {
    // The documents lists' date filter (FACTS §8): a value set by script stays in the client.
    if (this.state.trusted) { if (this.FindItemByValue(v)) { this.state.value = v; } return; }
    if (this.state.items && this.FindItemByValue(v) && v !== this.state.value) {
      this.PerformCallback({ cmd: "SETFILTER", value: v });
    }
  };
  Control.prototype.ShowDropDown = function () { show(this.name + "_DDD_PW", true); };
  Control.prototype.HideDropDown = function () { show(this.name + "_DDD_PW", false); };

  function lpvOf(ctrl) { return ctrl.name + "_LPV"; }

  // A [kind, raw] cell of a row-values answer as the grid API gives it: Date, Number or text.
  function typedValue(v) {
    if (v === null) { return null; }
    if (v[0] === "date" || v[0] === "datetime") { return v[1] ? new Date(v[1]) : null; }
    if (v[0] === "text") { return v[1]; }
    return v[1] === "" ? null : Number(v[1]);
  }

  // Typed numbers and dates in the browser's culture (navigator.language), as the real editors:
  // "1.234,5" and dd/MM/yyyy for it-IT, "1,234.5" and M/d/yyyy otherwise.
  function italianBrowser() { return (navigator.language || "").toLowerCase().indexOf("it") === 0; }
  function parseCulture(text) {
    var t = String(text || "").replace(/[%\s€$]|EUR/g, "");
    if (!t) { return ""; }
    return italianBrowser() ? t.replace(/\./g, "").replace(",", ".") : t.replace(/,/g, "");
  }
  function parseCultureDate(text) {
    var m = String(text || "").trim().match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})/);
    if (!m) { return String(text || "").trim(); }
    var day = italianBrowser() ? m[1] : m[2], month = italianBrowser() ? m[2] : m[1];
    return m[3] + "-" + ("0" + month).slice(-2) + "-" + ("0" + day).slice(-2);
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
    if (running || !queue.length) { return; }
    var job = queue.shift();
    running = job;
    var body = new URLSearchParams();
    ["__VIEWSTATE", "__VIEWSTATEGENERATOR", "__EVENTVALIDATION"].forEach(function (f) {
      var e = byId(f);
      if (e) { body.append(f, e.value); }
    });
    postForm(body);
    body.append("__CALLBACKID", job.ctrl.name);
    var sent = {};
    for (var k in job.param) { if (k !== "onValues" && k !== "collect") { sent[k] = job.param[k]; } }
    if (job.param.collect) { var got = job.param.collect(); for (k in got) { sent[k] = got[k]; } }
    body.append("__CALLBACKPARAM", JSON.stringify(sent));
    fetch(location.pathname + location.search, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "XMLHttpRequest" }
    }).then(function (r) {
      // As DevExpress does, a failed callback's error is shown in the page, not thrown.
      if (!r.ok) { return { callbackError: "Server Error in '/Archibald' Application. (HTTP " + r.status + ")" }; }
      return r.json();
    }).then(function (res) { done(job, res); }, function (err) {
      done(job, { callbackError: String(err) });
    });
  }

  // A DevExpress callback posts the page's form: the editors' values reach the server with it.
  function postForm(body) {
    var form = byId("form1");
    if (!form) { return; }
    new FormData(form).forEach(function (value, name) {
      if (!body.has(name) && typeof value === "string") { body.append(name, value); }
    });
  }

  function showError(text) {
    var panel = byId("Vertical_ErrorInfo");
    var cell = byId("Vertical_ErrorInfo_Text");
    if (panel && cell) { cell.textContent = text; panel.style.display = ""; }
  }

  function done(job, res) {
    if (res.redirect) {
      // The page is leaving: the control stays in its callback until the new page replaces it.
      leaveGuard.off();
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
    if (res.state && res.control && controls[res.control]) {
      var old = controls[res.control].state;
      if (!res.state.columns && old.columns) { res.state.columns = old.columns; }
      controls[res.control].state = res.state;
    }
    if (res.url) { history.replaceState(null, "", res.url); }
    if (res.error) { showError(res.error); }
    if (res.callbackError) { showError(res.callbackError); }
    if (res.rowValues && job.param.onValues) {
      var values = res.rowValues.map(typedValue);
      try { job.param.onValues(values.length === 1 ? values[0] : values); } catch (x) { /* page's own */ }
      var sticky = job.ctrl;
      sticky.pending += 1;
      setTimeout(function () { sticky.pending -= 1; }, 45000);
    }
    job.ctrl.pending -= 1;
    if (job.ctrl.pending <= 0) { job.ctrl.pending = 0; show(lpvOf(job.ctrl), false); }
    running = null;
    if (job.onDone) { job.onDone(res); }
    refreshToolbar();
    pump();
  }

  function formatCells(root) {
    if (!window.ASPxFormat) { return; }
    root.querySelectorAll("td[data-dxfmt]").forEach(function (td) {
      td.textContent = window.ASPxFormat(td.getAttribute("data-dxfmt"), td.getAttribute("data-v") || "");
    });
    // Detail views: view-mode values and editors (inputs show the value, spans the text).
    root.querySelectorAll("span[data-dxfmt], a[data-dxfmt], input[data-dxfmt]").forEach(function (e) {
      var raw = e.getAttribute("data-v");
      if (!raw) { return; }
      var text = window.ASPxFormat(e.getAttribute("data-dxfmt"), raw);
      if (e.tagName === "INPUT") { e.value = text; } else { e.textContent = text; }
    });
  }

  function scan(root) {
    root.querySelectorAll("[data-dx-control]").forEach(function (e) {
      var name = e.getAttribute("data-dx-control");
      var state = {};
      try { state = JSON.parse(e.getAttribute("data-dx-state") || "{}"); } catch (x) { state = {}; }
      if (controls[name]) { controls[name].state = state; } else { new Control(name, state); }
    });
    detachDropDowns(root);
    formatCells(root);
  }

  function listGrid() {
    for (var n in controls) { if (LIST_GRID_RE.test(n)) { return controls[n]; } }
    return null;
  }

  function refreshToolbar() {
    var grid = listGrid();
    var selected = grid ? grid.GetSelectedKeysOnPage().length : 0;
    document.querySelectorAll("li[data-needs-selection]").forEach(function (li) {
      li.classList.toggle("dxm-disabled", selected === 0);
    });
  }

  function doPostBack(target, argument) {
    var form = byId("form1");
    leaveGuard.off();
    byId("__EVENTTARGET").value = target;
    byId("__EVENTARGUMENT").value = argument;
    form.action = location.pathname + location.search;
    form.submit();
  }
  window.__doPostBack = doPostBack;

  function menuCommand(cmd, li, a) {
    var grid = listGrid();
    var href = a.getAttribute("data-href");
    if (cmd !== "Delete" && cmd !== "Send" && cmd !== "Refresh") { leaveGuard.off(); }
    if (cmd === "New") { location.href = href || "/Archibald/SALESTABLE_DetailViewAgent/?NewObject=true"; }
    else if (cmd === "Edit") { location.href = location.pathname + "?mode=Edit"; }
    else if (cmd === "Reload") { location.reload(); }
    else if (cmd === "Refresh" && grid) { grid.Refresh(); }
    else if (cmd === "GetPdf" && grid) { grid.PerformCallback({ cmd: cmd, keys: grid.GetSelectedKeysOnPage() }); }
    else if (cmd === "ExportPdf" && href) { location.href = href; }
    else if ((cmd === "Delete" || cmd === "Send") && grid) {
      var question = a.getAttribute("data-confirm") || "";
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
      // A toolbar item's popout arrow (`DXI{n}_P`) opens its sub-items.
      ev.preventDefault();
      var popup = el.parentNode.querySelector("ul.dxm-popup");
      if (popup) { popup.style.display = popup.style.display === "none" ? "" : "none"; }
      return;
    }
    if ((el = t.closest("li[data-dx-tab]"))) {
      ev.preventDefault();
      var tabs = el.getAttribute("data-dx-tab"), index = el.getAttribute("data-dx-tab-index");
      document.querySelectorAll('li[data-dx-tab="' + tabs + '"]').forEach(function (tab) {
        var on = tab.getAttribute("data-dx-tab-index") === index;
        tab.classList.toggle("dxtc-activeTab", on);
        tab.classList.toggle("dxtc-psi", on);
        show(tabs + "_C" + tab.getAttribute("data-dx-tab-index"), on);
      });
      // A panel rendered late (the customer's "Indirizzo alt."): its first showing asks for it.
      var shown = byId(tabs + "_C" + index);
      (shown ? shown.querySelectorAll("[data-dx-lazy]") : []).forEach(function (p) {
        var lazy = p.getAttribute("data-dx-lazy");
        p.removeAttribute("data-dx-lazy");
        if (controls[p.id]) { controls[p.id].PerformCallback({ cmd: lazy }); }
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
      var to = el.getAttribute("data-dx-page");
      if (to === "next") { g.NextPage(); } else if (to === "prev") { g.PrevPage(); } else { g.GotoPage(parseInt(to, 10)); }
      return;
    }
    if ((el = t.closest("a[data-args]"))) {
      ev.preventDefault();
      var grid = controls[el.closest("[data-dx-grid]").getAttribute("data-dx-grid")];
      var args = el.getAttribute("data-args");
      var open = el.querySelector("img[data-href]");
      if (/^\[\['Edit'\]/.test(args) && open) { location.href = open.getAttribute("data-href"); return; }
      var m = args.match(/'(StartEdit|DeleteRow)',\s*(\d+)/);
      if (m && m[1] === "StartEdit") { grid.StartEditRow(parseInt(m[2], 10)); }
      else if (m) {
        var index = parseInt(m[2], 10);
        xafPopup("Vertical_PopupWindowConfirm", "Archibald", "Confermare l'eliminazione?",
                 function () { leaveGuard.on(); grid.DeleteRow(index); });
      }
      else if (args.indexOf("AddNew") >= 0) { grid.AddNewRow(); }
      else if (args.indexOf("UpdateEdit") >= 0) { grid.UpdateEdit(); }
      else if (args.indexOf("CancelEdit") >= 0) { grid.CancelEdit(); }
      return;
    }
    if (t.matches("input.dxgvSelectCheck")) { refreshToolbar(); return; }
    if ((el = t.closest("[data-dx-combo-item]"))) {
      var combo = controls[el.getAttribute("data-dx-combo")];
      if (combo.state.trusted) {
        // Only a real mouse click reaches the server, and it refreshes the grid in place.
        if (!ev.isTrusted) { return; }
        combo.HideDropDown();
        combo.PerformCallback({ cmd: "SETFILTER", value: el.getAttribute("data-dx-combo-item") });
        return;
      }
      combo.HideDropDown();
      combo.SetValue(el.getAttribute("data-dx-combo-item"));
      return;
    }
    if ((el = t.closest("[data-dx-clear]"))) {
      // A button editor's Clear button (`{name}_B1`): empties the value the form posts; the
      // server recalculates on the next save (LINEDISC, FACTS §2.15). Its inline onclick
      // (ASPx.BEClick) works from a script too, as on the live ERP.
      var cleared = el.getAttribute("data-dx-clear");
      byId(cleared + "_I").value = "N/A";
      byId(cleared + "_VI").value = "";
      leaveGuard.on();
      return;
    }
    if ((el = t.closest("[data-dx-combo-button]"))) {
      var c = controls[el.getAttribute("data-dx-combo-button")];
      var pw = byId(c.name + "_DDD_PW");
      if (pw && pw.style.display !== "none") { c.HideDropDown(); } else { c.ShowDropDown(); }
      return;
    }
    if ((el = t.closest("[data-dx-dropdown]"))) {
      var dd = byId(el.getAttribute("data-dx-dropdown") + "_DDD_PW-1");
      if (dd) { dd.style.display = dd.style.display === "none" ? "" : "none"; }
      return;
    }
    if ((el = t.closest("tr[data-dx-article]"))) {
      // A row of an article editor's drop-down grid `{editor}_DDD_gv`: only a real click picks.
      if (!ev.isTrusted) { return; }
      var ed = el.closest("[data-dx-control]").getAttribute("data-dx-control").replace(/_DDD_gv$/, "");
      byId(ed + "_I").value = el.getAttribute("data-dx-article");
      byId(ed + "_VI").value = el.getAttribute("data-variant");
      show(ed + "_DDD_PW-1", false);
      controls[ed].PerformCallback({ cmd: "VARIANT", article: el.getAttribute("data-dx-article"),
                                     variant: el.getAttribute("data-variant") });
      return;
    }
    if ((el = t.closest("tr.dxgvDataRow_XafTheme")) && el.closest("[data-dx-lookup]")) {
      if (!ev.isTrusted) { return; }  // as the real lookup: script clicks are ignored
      leaveGuard.on();
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
    if (t.hasAttribute("data-dx-search")) {
      // A lookup's search box names its grid; the list's search box searches the list grid.
      var grid = controls[t.getAttribute("data-dx-search")] || listGrid();
      if (grid) { grid.PerformCallback({ cmd: "SEARCH", search: t.value, page: 0 }); }
    }
    else if (t.hasAttribute("data-dx-pagesize")) { window.ASPx.POnPageSizeBlur(t.id.replace(/_PSI$/, ""), ev); }
  });

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t.hasAttribute && t.hasAttribute("data-dx-incremental")) {
      if (!ev.isTrusted) { return; }  // IncrementalFiltering reacts to real keystrokes only
      var name = t.getAttribute("data-dx-incremental");
      byId(name + "_VI").value = "";
      controls[name].PerformCallback({ cmd: "FILTER", text: t.value });
    }
  });

  // Typed numbers and dates keep their invariant value in the editor's `_Raw` input.
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!t.id || !/_I$/.test(t.id) || !t.hasAttribute("data-dxfmt")) { return; }
    var raw = byId(t.id.replace(/_I$/, "_Raw"));
    if (!raw || (t.hasAttribute("data-dx-typed") && !ev.isTrusted)) { return; }
    var kind = t.getAttribute("data-dxfmt");
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
    if (t.hasAttribute && t.hasAttribute("data-dx-pagesize")) { window.ASPx.POnPageSizeBlur(t.id.replace(/_PSI$/, ""), ev); }
  });

  /* ---- The customer form (FACTS §6, §7) ------------------------------------------------
     The VAT check runs only for a number typed key by key: a value put by script (SetValue,
     the native setter) is not tracked and leaves no check. FISCALCODE runs its check on a
     change; leaving FISCALCODE or SDI blank resets both; typing into NAME or STREET makes the
     server re-render them (keys typed meanwhile are lost). LINEDISC combo items take real mouse
     clicks only (event.isTrusted). The "changed by another user" popup comes back when hidden. */
  function customerForm() {
    function has(t, attr) { return t && t.hasAttribute && t.hasAttribute(attr); }
    document.addEventListener("focusin", function (ev) {
      if (has(ev.target, "data-dx-vatcheck")) { ev.target.dxTyped = ev.target.value; }
    });
    document.addEventListener("input", function (ev) {
      var t = ev.target;
      if (has(t, "data-dx-rerender") && ev.isTrusted && !t.dxRerendering && t.value.length >= 3) {
        // NAME / STREET: typing makes the server re-render the editor, replacing the input.
        t.dxRerendering = true;
        controls[t.getAttribute("data-dx-rerender")].PerformCallback({ cmd: "RERENDER", value: t.value });
      }
      if (!has(t, "data-dx-vatcheck") || !ev.isTrusted) { return; }
      if (ev.inputType === "insertText" && ev.data) { t.dxTyped = (t.dxTyped || "") + ev.data; }
      else { t.dxTyped = t.value; }
    });
    document.addEventListener("change", function (ev) {
      var t = ev.target;
      if (has(t, "data-dx-custcheck") && t.value.trim()) {
        controls[t.getAttribute("data-dx-custcheck")].PerformCallback({ cmd: "CHECK", value: t.value });
      }
    });
    document.addEventListener("focusout", function (ev) {
      var t = ev.target;
      if (has(t, "data-dx-vatcheck") && t.value !== t.getAttribute("data-dx-checked") &&
          t.value === t.dxTyped) {
        t.setAttribute("data-dx-checked", t.value);
        controls[t.getAttribute("data-dx-vatcheck")].PerformCallback({ cmd: "VATCHECK", value: t.value });
      }
      if (has(t, "data-dx-custcheck") && !t.value.trim()) {
        controls[t.getAttribute("data-dx-custcheck")].PerformCallback({ cmd: "CHECK", value: "" });
      }
    });
    document.addEventListener("click", function (ev) {
      var t = ev.target, el;
      if (!t.closest) { return; }
      if ((el = t.closest("[data-dx-cust-combo-button]"))) {
        var pw = byId(el.getAttribute("data-dx-cust-combo-button") + "_DDD_PW");
        if (pw) { pw.style.display = pw.style.display === "none" ? "" : "none"; }
      }
      else if ((el = t.closest("[data-dx-cust-item]"))) {
        if (!ev.isTrusted) { return; }
        var dd = el.getAttribute("data-dx-cust-combo");
        byId(dd + "_I").value = el.getAttribute("data-dx-cust-item");
        show(dd + "_DDD_PW", false);
      }
      else if ((el = t.closest("[data-dx-find-button]"))) {
        controls[el.getAttribute("data-dx-find-button")].PerformCallback({ cmd: "FIND" });
      }
      else if ((el = t.closest("[data-dx-find-search]"))) {
        findSearch(el.getAttribute("data-dx-find-search"));
      }
      else if ((el = t.closest("[data-dx-find-row]"))) {
        // The FindPopup's rows take script clicks too (d6-save-flow.json: row_click).
        Array.prototype.forEach.call(document.querySelectorAll("[data-dx-find-row]"), function (r) {
          r.classList.remove("dxgvFocusedRow_XafTheme");
        });
        el.classList.add("dxgvFocusedRow_XafTheme");
      }
      else if ((el = t.closest("[data-dx-find-ok]"))) {
        ev.preventDefault();
        var row = document.querySelector("tr.dxgvFocusedRow_XafTheme[data-dx-find-row]");
        var dialog = byId("FindDialog");
        if (!row || !dialog || !window.parent.ASPxFindPicked) { return; }  // needs one object
        window.parent.ASPxFindPicked(dialog.getAttribute("data-dx-find-field"),
          row.getAttribute("data-key"), row.getAttribute("data-shown"),
          JSON.parse(row.getAttribute("data-fill") || "{}"));
      }
      else if ((el = t.closest("[data-dx-find-cancel]"))) {
        ev.preventDefault();
        if (window.parent.ASPxFindClosed) { window.parent.ASPxFindClosed(); }
      }
      else if ((el = t.closest("[data-dx-merge]"))) {
        ev.preventDefault();
        doPostBack("Vertical$mainMenu", "Merge");
      }
      else if ((el = t.closest("[data-dx-merge-cancel]"))) {
        ev.preventDefault();
        el.closest("[data-dx-merge-popup]").style.display = "none";
      }
    });
    /* The FindPopup (an iframe): its search button (or Enter) filters the grid by the typed
       text; OK hands the focused row to the form, which shows the choice, keeps its key and
       writes what the pick fills (the CAP: CITY, COUNTY, STATE, COUNTRYREGIONID). */
    function findSearch(grid) {
      var input = byId("FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_I");
      if (controls[grid] && input) { controls[grid].PerformCallback({ cmd: "SEARCH", text: input.value }); }
    }
    document.addEventListener("keydown", function (ev) {
      var t = ev.target;
      if (ev.key !== "Enter" || !t || t.id !== "FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_I") { return; }
      ev.preventDefault();
      var b = byId("FindDialog_SAC_Menu_ITCNT0_xaf_a0_Ed_B1");
      if (b) { findSearch(b.getAttribute("data-dx-find-search")); }
    });
    function closeFind() {
      show("Vertical_FindPopup_PW", false);
      var cc = byId("Vertical_FindPopup_CC");
      if (cc) { cc.innerHTML = ""; }
    }
    window.ASPxFindClosed = closeFind;
    window.ASPxFindPicked = function (field, key, shown, fill) {
      var shownInput = document.querySelector('[id$="_xaf_dvi' + field + '_Edit_find_Edit_I"]');
      var keyInput = document.querySelector('[id$="_xaf_dvi' + field + '_Edit_find_Edit_VI"]');
      if (shownInput) { shownInput.value = shown; }
      if (keyInput) { keyInput.value = key; }
      Object.keys(fill || {}).forEach(function (f) {
        var input = document.querySelector('[id$="_xaf_dvi' + f + '_Edit_I"]');
        var view = document.querySelector('[id$="_xaf_dvi' + f + '_View"]');
        if (input) { input.value = fill[f]; } else if (view) { view.textContent = fill[f]; }
      });
      leaveGuard.on();
      closeFind();
      // The pick posts back to the form (for PAYMTERMID the live ERP's 10-15 s callback).
      var editor = shownInput ? shownInput.id.replace(/_I$/, "") : "";
      if (controls[editor]) { controls[editor].PerformCallback({ cmd: "PICKED", key: key }); }
    };
    setInterval(function () {
      document.querySelectorAll("[data-dx-merge-popup]").forEach(function (p) {
        if (p.style.display === "none") { p.style.display = ""; }
      });
    }, 500);
  }
  customerForm();
  /* ---- end of the customer form ---- */

  /* ---- Quirks of the real pages while a bot writes an order (FACTS §2.7-2.12, §3, §11) ---- */

  /* Drop-down popups live at body level, as DevExpress renders them: an article editor's
     `_DDD_PW-1` leaves its row when the editor is created and stays behind, hidden, when the
     row is re-rendered — every line leaves one (stale `_DDD` popups pile up). The newest goes
     first, so ids resolve to the live editor's popup. */
  function detachDropDowns(root) {
    root.querySelectorAll('[data-dx-role="article"]').forEach(function (ed) {
      var pw = root.querySelector('[id="' + ed.id + '_DDD_PW-1"]');
      if (!pw) { return; }
      pw.setAttribute("data-dx-owner", ed.id);
      document.body.insertBefore(pw, document.body.firstChild);
    });
  }
  function placeDropDown(pw) {
    var owner = byId(pw.getAttribute("data-dx-owner"));
    if (!owner) { return; }
    var r = owner.getBoundingClientRect();
    pw.style.left = (r.left + window.scrollX) + "px";
    pw.style.top = (r.bottom + window.scrollY) + "px";
  }

  /* The line discount spin keeps the value real keystrokes gave it (its `_Raw`): a value
     written by script is not the editor's value (FACTS §2.10, §9). */
  function typedNum(e) {
    if (!e) { return ""; }
    if (!e.hasAttribute("data-dx-typed")) { return parseCulture(e.value); }
    var raw = byId(e.id.replace(/_I$/, "_Raw"));
    return raw ? raw.value : "";
  }

  /* An order or customer form with unsaved changes asks before the browser leaves it
     (beforeunload); the application's own navigations (toolbar, postbacks, callback
     redirects) do not. */
  var leaveGuard = {
    on: function () {
      if (!/SALESTABLE_DetailViewAgent|CUSTTABLE_DetailView/.test(location.pathname) ||
          window.onbeforeunload) { return; }
      window.onbeforeunload = function (e) {
        e.preventDefault();
        e.returnValue = "Le modifiche non salvate andranno perse.";
        return e.returnValue;
      };
    },
    off: function () { window.onbeforeunload = null; }
  };

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!ev.isTrusted || !t.closest || !t.closest("#form1")) { return; }
    if (t.hasAttribute("data-dx-search") || t.hasAttribute("data-dx-pagesize")) { return; }
    leaveGuard.on();
    if (t.hasAttribute("data-dx-typed")) {
      var raw = byId(t.id.replace(/_I$/, "_Raw"));
      if (raw) { raw.value = parseCulture(t.value); }
    }
  });

  /* An XAF popup window (not a browser dialog): a message, OK / Annulla, a close button
     `_HCB-1`, and a modal background that takes every click aimed at the page beneath. */
  function xafPopup(id, title, message, onOk) {
    [id + "_PW-1", id + "_DXPWMB-1"].forEach(function (i) { var o = byId(i); if (o) { o.remove(); } });
    var back = document.createElement("div");
    back.id = id + "_DXPWMB-1";
    back.className = "dxpcModalBackLite_XafTheme";
    back.style.cssText = "position:fixed;left:0;top:0;right:0;bottom:0;z-index:11999;background:rgba(0,0,0,.15)";
    var pw = document.createElement("div");
    pw.id = id + "_PW-1";
    pw.className = "dxpcLite_XafTheme dxpc-mainDiv";
    pw.style.cssText = "position:fixed;left:30%;top:30%;z-index:12000;background:#fff;border:1px solid #889;padding:8px";
    var esc = function (x) { var d = document.createElement("span"); d.textContent = x; return d.innerHTML; };
    pw.innerHTML = '<div class="dxpc-header"><span class="dxpc-headerText">' + esc(title) + '</span>' +
      '<div id="' + id + '_HCB-1" class="dxpc-closeBtn" data-xaf-answer="close">&#215;</div></div>' +
      '<div class="dxpc-content"><span class="XafPopupMessage">' + esc(message) + '</span><br>' +
      '<a id="' + id + '_btnOk" class="dxbButton_XafTheme" data-xaf-answer="ok"><span>OK</span></a> ' +
      '<a id="' + id + '_btnCancel" class="dxbButton_XafTheme" data-xaf-answer="cancel"><span>Annulla</span></a></div>';
    pw.addEventListener("click", function (ev) {
      var a = ev.target.closest("[data-xaf-answer]");
      ev.stopPropagation();
      if (!a) { return; }
      ev.preventDefault();
      back.remove();
      pw.remove();
      if (a.getAttribute("data-xaf-answer") === "ok" && onOk) { onOk(); }
    });
    document.body.appendChild(back);
    document.body.appendChild(pw);
  }

  /* A real mouse click over a saved line of the lines grid (edit mode) opens the line's own
     "Linea di vendita" popup, which covers the page until closed (FACTS §2.7, §11). */
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!ev.isTrusted || !t.closest || t.closest("a[data-args], input, [data-xaf-answer]")) { return; }
    var tr = t.closest("tr.dxgvDataRow_XafTheme");
    var grid = tr ? tr.closest("[data-dx-grid]") : null;
    var name = grid ? grid.getAttribute("data-dx-grid") : "";
    if (name.indexOf("dviSALESLINEs") < 0 || /_DDD_gv$/.test(name)) { return; }
    if (!grid.querySelector('a[data-args*="AddNew"]')) { return; }
    xafPopup("Vertical_PopupWindowSalesLine", "Linea di vendita", tr.textContent.trim(), null);
  });

  /* A real click on a lines grid column header opens its header filter popup `{grid}_DXHFP_PW-1`
     (modal, FACTS §11); "Annulla" closes it, "OK" keeps every value. */
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t.closest) { return; }
    var answer = t.closest("[data-dx-hfp]");
    if (answer) {
      ev.preventDefault();
      show(answer.getAttribute("data-dx-hfp") + "_DXHFP_PW-1", false);
      return;
    }
    var head = ev.isTrusted ? t.closest("td.dxgvHeader_XafTheme[data-field]") : null;
    var grid = head ? head.closest("[data-dx-grid]") : null;
    var name = grid ? grid.getAttribute("data-dx-grid") : "";
    if (name.indexOf("dviSALESLINEs") < 0 || /_DDD_gv$/.test(name)) { return; }
    var pw = byId(name + "_DXHFP_PW-1");
    if (!pw) { return; }
    pw.style.cssText = "position:fixed;left:30%;top:30%;z-index:12000;background:#fff;border:1px solid #889;padding:8px";
    byId(name + "_DXHFP_PWC-1").innerHTML = '<label><input type="checkbox" checked> (Seleziona tutto)</label>';
    byId(name + "_DXHFP_PWF-1").innerHTML =
      '<a id="' + name + '_DXHFP_BO" class="dxbButton_XafTheme" data-dx-hfp="' + name + '">OK</a> ' +
      '<a id="' + name + '_DXHFP_BC" class="dxbButton_XafTheme" data-dx-hfp="' + name + '">Annulla</a>';
    byId(name + "_DXHFP_DXPWMB-1").style.cssText = "position:fixed;left:0;top:0;right:0;bottom:0;z-index:-1;background:rgba(0,0,0,.15)";
  });

  var PAGE_SIZES = [10, 20, 50, 100, 200];
  window.ASPx = {
    /* Registers a command button's disabled look (rendered inline by the real grid rows). */
    AddDisabledItems: function (id, styles) { return id && styles; },
    /* A row's command cell (documents lists): a click on it toggles the row's selection. */
    GVSelectRow: function (td, evt) {
      var box = td.querySelector("input.dxgvSelectCheck");
      if (box && (!evt || evt.target !== box)) { box.checked = !box.checked; }
      refreshToolbar();
    },
    /* The pager's page-size editor lost focus: apply its value (one of the pager's sizes). */
    POnPageSizeBlur: function (pagerId, evt) {
      var input = byId(pagerId + "_PSI");
      var grid = controls[pagerId.replace(/_DXPagerBottom$/, "")];
      if (!input || !grid) { return; }
      var size = parseInt(input.value, 10);
      if (PAGE_SIZES.indexOf(size) < 0) { input.value = String(grid.state.page_size || 20); return; }
      if (size !== grid.state.page_size) { grid.PerformCallback({ cmd: "PAGESIZE", page: 0, page_size: size }); }
    },
    /* A button of a button editor (a lookup's drop-down or clear button). */
    BEClick: function (name, number) {
      var b = byId(name + "_B" + number);
      if (b) { b.click(); }
    }
  };
  window.ASPxClientControl = {
    GetControlCollection: function () {
      return {
        elements: controls,
        GetByName: function (n) { return controls[n] || null; },
        ForEachControl: function (fn, ctx) {
          for (var n in controls) { if (fn.call(ctx, controls[n]) === true) { return; } }
        }
      };
    }
  };
  document.addEventListener("DOMContentLoaded", function () { scan(document); refreshToolbar(); });
})();
