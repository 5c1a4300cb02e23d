// static/search.js: search as you type over search-index.json, for partials/search.html.
//
// Progressive enhancement: without this script the header shows a "Search" link to search/,
// which says that search needs JavaScript; with it, the box shows instead (data-ready). The index and elasticlunr.js are
// fetched on first use (pages stay light), from the form's data-index and data-engine
// addresses, which the theme writes from the site's base path: the search works under
// /<repository>/ on GitHub Pages and offline. Results are built with textContent, so nothing in
// the index (a student's write-up included) ever becomes markup.
(function () {
  'use strict';
  var form = document.querySelector('.site-search');
  if (!form || !window.fetch || !window.Promise || !window.URLSearchParams) return;
  var input = form.querySelector('.site-search-input');
  var panel = form.querySelector('.site-search-results');
  var status = form.querySelector('.site-search-status');
  var list = form.querySelector('.site-search-list');
  // Results shown under the box; Enter goes to the search page, which shows them all.
  var SHOWN = 8;
  var loading = null;
  var ticket = 0;

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.elasticlunr) return resolve();
      var script = document.createElement('script');
      script.src = src;
      script.onload = resolve;
      script.onerror = function () { reject(new Error('could not load ' + src)); };
      document.head.appendChild(script);
    });
  }

  function load() {
    if (!loading) {
      var index = fetch(form.dataset.index).then(function (response) {
        if (!response.ok) throw new Error('the search index answered ' + response.status);
        return response.json();
      });
      loading = Promise.all([loadScript(form.dataset.engine), index]).then(function (parts) {
        return { index: window.elasticlunr.Index.load(parts[1].index), docs: parts[1].docs };
      });
      // A failed load (offline, say) is tried again on the next keystroke.
      loading.catch(function () { loading = null; });
    }
    return loading;
  }

  function search(site, query) {
    var options = { fields: { title: { boost: 2 }, body: { boost: 1 } }, bool: 'AND', expand: true };
    return site.index.search(query, options).map(function (hit) {
      var doc = site.docs[Number(hit.ref)];
      return { title: doc[0], url: doc[1], snippet: doc[2] };
    });
  }

  function words(query) {
    return query.toLowerCase().split(/\s+/).filter(function (w) { return w.length > 1; });
  }

  // The snippet as text nodes, with each occurrence of a query word in a <mark>.
  function snippet(text, terms) {
    var p = document.createElement('p');
    p.className = 'search-snippet';
    var lower = text.toLowerCase();
    var at = 0;
    for (;;) {
      var best = -1;
      var length = 0;
      terms.forEach(function (term) {
        var i = lower.indexOf(term, at);
        if (i >= 0 && (best < 0 || i < best)) { best = i; length = term.length; }
      });
      if (best < 0) break;
      p.appendChild(document.createTextNode(text.slice(at, best)));
      var mark = document.createElement('mark');
      mark.textContent = text.slice(best, best + length);
      p.appendChild(mark);
      at = best + length;
    }
    p.appendChild(document.createTextNode(text.slice(at)));
    return p;
  }

  function show(target, results, query, limit) {
    var terms = words(query);
    target.textContent = '';
    results.slice(0, limit).forEach(function (result) {
      var item = document.createElement('li');
      var link = document.createElement('a');
      link.className = 'search-title';
      link.href = result.url;
      link.textContent = result.title;
      item.appendChild(link);
      item.appendChild(snippet(result.snippet, terms));
      target.appendChild(item);
    });
  }

  function count(n) {
    return n === 0 ? 'No page matches.' : n === 1 ? '1 page matches.' : n + ' pages match.';
  }

  function update() {
    var query = input.value.trim();
    var mine = ++ticket;
    if (!query) { panel.hidden = true; return; }
    load().then(function (site) {
      if (mine !== ticket) return;
      var results = search(site, query);
      var more = results.length > SHOWN ? ' The first ' + SHOWN + ' are shown; press Enter for all.' : '';
      status.textContent = count(results.length) + more;
      show(list, results, query, SHOWN);
      panel.hidden = false;
    }, function (error) {
      status.textContent = 'Search is unavailable: ' + error.message + '.';
      list.textContent = '';
      panel.hidden = false;
    });
  }

  function links() {
    return Array.prototype.slice.call(list.querySelectorAll('a'));
  }

  function openPage() {
    var query = input.value.trim();
    if (query) window.location.href = form.dataset.page + '?q=' + encodeURIComponent(query);
  }

  form.dataset.ready = 'true';
  input.addEventListener('input', update);
  input.addEventListener('focus', function () { load(); });
  // Arrow keys move between the box and the results, Escape closes them.
  form.addEventListener('keydown', function (event) {
    var all = links();
    var at = all.indexOf(document.activeElement);
    if (event.key === 'ArrowDown' && !panel.hidden && all.length) {
      event.preventDefault();
      all[Math.min(at + 1, all.length - 1)].focus();
    } else if (event.key === 'ArrowUp' && at >= 0) {
      event.preventDefault();
      (at === 0 ? input : all[at - 1]).focus();
    } else if (event.key === 'Enter' && event.target === input) {
      event.preventDefault();
      openPage();
    } else if (event.key === 'Escape' && !panel.hidden) {
      panel.hidden = true;
      input.focus();
    }
  });
  form.addEventListener('focusout', function (event) {
    if (!form.contains(event.relatedTarget)) panel.hidden = true;
  });

  // The search page shows every result of ?q= in the page itself.
  var page = document.querySelector('[data-search-page]');
  if (!page) return;
  var query = (new URLSearchParams(window.location.search).get('q') || '').trim();
  var pageStatus = page.querySelector('.search-page-status');
  var pageList = page.querySelector('.search-page-list');
  input.value = query;
  if (!query) { pageStatus.textContent = 'Type a word or two in the search box.'; return; }
  pageStatus.textContent = 'Searching…';
  load().then(function (site) {
    var results = search(site, query);
    pageStatus.textContent = count(results.length);
    show(pageList, results, query, results.length);
  }, function (error) {
    pageStatus.textContent = 'Search is unavailable: ' + error.message + '.';
  });
})();
