// Progressive enhancement for the citizen pages; every page works without it.
// Loaded as an ES module from our own origin, so the CSP needs no 'unsafe-inline'.

// SAML HTTP-POST binding: send the message on without waiting for the citizen. The Continue button in
// the form stays the no-JavaScript path (and the fallback if this script fails).
const autoSubmit = document.querySelector('form[data-federation-auto-submit]')
if (autoSubmit) {
  autoSubmit.submit()
} else {
  import('../govuk/govuk-frontend.min.js')
    .then(function (govuk) {
      if (govuk.isSupported()) {
        govuk.initAll()
      }
    })
    .catch(function () {
      // Assets missing or an old browser: the pages still work without GOV.UK Frontend's JavaScript.
    })
}
