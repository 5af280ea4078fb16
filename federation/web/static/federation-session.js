// The session-timing notice (WCAG 2.2.1): shown, and announced, when the warning time comes while the page
// is open. Without JavaScript the page shows it from the start once little time is left.
const notice = document.getElementById('session-timing')
if (notice) {
  const endsAt = Date.parse(notice.dataset.expiresAt)
  const warnMs = Number(notice.dataset.warnSeconds) * 1000
  const show = function () {
    notice.hidden = false
    notice.setAttribute('role', 'alert')
    const button = document.getElementById('more-time')
    if (button) {
      button.focus()
    }
  }
  const wait = endsAt - warnMs - Date.now()
  if (!Number.isNaN(wait) && notice.hidden) {
    window.setTimeout(show, Math.max(wait, 0))
  }
}
