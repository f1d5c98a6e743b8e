/* Grid number/date text in the browser's culture, as the real Archibald shows it.
 *
 * The real ERP formats grid values for navigator.language (Chromium --lang), not for the
 * labels' Accept-Language: en-US shows "51,847", "3/28/2026 6:24:57 AM", "$14.34"; it-IT
 * shows "51.847", "28/03/2026 06:24:57", "250,01 EUR" (FACTS §0, §8).
 *
 * window.ASPxFormat(kind, raw[, lang]) formats a raw invariant value ("51847", "14.34",
 * "2026-03-28T06:24:57"); kinds: int, decimal, money, percent, date, datetime, text.
 * lang ("it"/"en") defaults to navigator.language (it* → Italian, anything else → en-US).
 * The server-side twin with the same rules is erpsim/culture.py format_value; the tests
 * compare the two on samples. Change both together.
 */
(function () {
  'use strict';

  var RULES = {
    en: {group: ',', decimal: '.', moneyPrefix: '$', moneySuffix: '', moneyParens: true,
         dateOrder: 'mdy', twelveHour: true},
    it: {group: '.', decimal: ',', moneyPrefix: '', moneySuffix: ' EUR', moneyParens: false,
         dateOrder: 'dmy', twelveHour: false}
  };
  var PLACES = 2;

  function browserLang() {
    var tag = (navigator.language || '').toLowerCase();
    return tag.indexOf('it') === 0 ? 'it' : 'en';
  }

  /* Round a decimal string half away from zero to `places` digits, without binary floats.
   * Returns {negative, whole, fraction} with `fraction` exactly `places` long. */
  function round(raw, places) {
    var m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(String(raw));
    if (!m || (m[2] === '' && !m[3])) throw new Error('ASPxFormat: not a number: ' + raw);
    var negative = m[1] === '-';
    var whole = m[2] || '0';
    var frac = (m[3] || '');
    var digits = (whole + (frac + new Array(places + 2).join('0')).slice(0, places)).split('');
    var next = frac.length > places ? frac.charCodeAt(places) - 48 : 0;
    if (next >= 5) {
      var i = digits.length - 1;
      while (i >= 0) {
        if (digits[i] === '9') { digits[i] = '0'; i--; } else { digits[i] = String(+digits[i] + 1); break; }
      }
      if (i < 0) digits.unshift('1');
    }
    var all = digits.join('');
    var w = all.slice(0, all.length - places).replace(/^0+(?=\d)/, '');
    var f = places ? all.slice(all.length - places) : '';
    if (/^0*$/.test(w + f)) negative = false;
    return {negative: negative, whole: w, fraction: f};
  }

  function grouped(r, rules, places) {
    var w = r.whole, parts = [];
    while (w.length > 3) { parts.unshift(w.slice(-3)); w = w.slice(0, -3); }
    parts.unshift(w);
    var text = parts.join(rules.group);
    return places ? text + rules.decimal + r.fraction : text;
  }

  function number(raw, rules, places) {
    var r = round(raw, places);
    return (r.negative ? '-' : '') + grouped(r, rules, places);
  }

  function pad2(n) { return (n < 10 ? '0' : '') + n; }

  function isoParts(raw) {
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(raw);
    if (!m) throw new Error('ASPxFormat: not an ISO date: ' + raw);
    return {y: +m[1], mo: +m[2], d: +m[3], h: +(m[4] || 0), mi: +(m[5] || 0), s: +(m[6] || 0)};
  }

  function dateText(p, rules) {
    var year = ('000' + p.y).slice(-4);
    return rules.dateOrder === 'mdy'
      ? p.mo + '/' + p.d + '/' + year
      : pad2(p.d) + '/' + pad2(p.mo) + '/' + year;
  }

  function timeText(p, rules) {
    if (rules.twelveHour) {
      var h = p.h % 12 || 12;
      return h + ':' + pad2(p.mi) + ':' + pad2(p.s) + (p.h < 12 ? ' AM' : ' PM');
    }
    return pad2(p.h) + ':' + pad2(p.mi) + ':' + pad2(p.s);
  }

  window.ASPxFormat = function (kind, raw, lang) {
    if (raw === null || raw === undefined || raw === '' || kind === 'text') {
      return raw === null || raw === undefined ? '' : String(raw);
    }
    raw = String(raw);
    var rules = RULES[lang === 'it' || lang === 'en' ? lang : browserLang()];
    switch (kind) {
      case 'int': return number(raw, rules, 0);
      case 'decimal': return number(raw, rules, PLACES);
      case 'percent': return number(raw, rules, PLACES) + ' %';
      case 'money': {
        var r = round(raw, PLACES);
        var body = rules.moneyPrefix + grouped(r, rules, PLACES) + rules.moneySuffix;
        if (!r.negative) return body;
        return rules.moneyParens ? '(' + body + ')' : '-' + body;
      }
      case 'date': return dateText(isoParts(raw), rules);
      case 'datetime': {
        var p = isoParts(raw);
        return dateText(p, rules) + ' ' + timeText(p, rules);
      }
      default: throw new Error('ASPxFormat: unknown kind ' + kind);
    }
  };
})();
