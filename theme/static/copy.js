// static/copy.js: a "Copy" button on every code block, for partials/search.html's pages (the
// sites that allow a script). Progressive enhancement: without JavaScript, or where the
// Clipboard API is not offered (an insecure origin), code blocks are as before and can be
// selected by hand. The button copies the code's text, never its highlighting markup.
(function () {
  'use strict';
  if (!navigator.clipboard || !window.isSecureContext) return;
  var blocks = document.querySelectorAll('pre.code');
  Array.prototype.forEach.call(blocks, function (pre) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-button';
    button.textContent = 'Copy';
    button.addEventListener('click', function () {
      var code = pre.querySelector('code') || pre;
      navigator.clipboard.writeText(code.textContent).then(function () {
        button.textContent = 'Copied';
        setTimeout(function () { button.textContent = 'Copy'; }, 2000);
      }, function () {
        button.textContent = 'Copy failed';
      });
    });
    // The button sits over the block's corner, outside its scroll box.
    var wrap = document.createElement('div');
    wrap.className = 'code-block';
    pre.parentNode.insertBefore(wrap, pre);
    wrap.appendChild(pre);
    wrap.appendChild(button);
  });
})();
