// MathJax 2 settings of the course's website (book/conf.py inlines this before MathJax.js loads).
// Only the delimiters Sphinx writes, \( \) and \[ \], are typeset: a "$" that MyST did not turn into
// math stays visible, and the browser test (book/test_site.py) reports it. TeX errors are not
// hidden (noErrors/noUndefined off) and are logged as console errors, which the test also reports.
window.MathJax = {
  tex2jax: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: false},
  TeX: {noErrors: {disabled: true}, noUndefined: {disabled: true}},
  CommonHTML: {linebreaks: {automatic: true}},
  "HTML-CSS": {availableFonts: ["TeX"], imageFont: null},
  menuSettings: {zoom: "Click"},
  // only the CommonHTML output and the TeX fonts are copied into the site: offer no other in the menu
  MathMenu: {showRenderer: false, showFontMenu: false, showLocale: false},
  showProcessingMessages: false,
  messageStyle: "none",
  AuthorInit: function () {
    MathJax.Hub.Register.MessageHook("TeX Jax - parse error", function (message) {
      console.error("MathJax could not render the formula " + JSON.stringify(message[2]) + ": " + message[1]);
    });
    MathJax.Hub.Register.MessageHook("Math Processing Error", function (message) {
      console.error("MathJax processing error: " + message[2]);
    });
    MathJax.Hub.Register.StartupHook("End", function () {
      document.documentElement.setAttribute("data-mathjax", "done");
    });
  }
};
