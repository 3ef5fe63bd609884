// Dash's <details> does not report its own toggling: its `open` prop keeps the value the server
// drew. A panel's data table is drawn only when its box is opened (pages/home.py panel_data), so
// the reader's toggle is passed on to Dash here. The toggle event does not bubble: capture it.
document.addEventListener('toggle', function (event) {
    const box = event.target;
    if (!box.matches || !box.matches('details.panel-table') || !box.id || !window.dash_clientside) { return; }
    let id;
    try { id = JSON.parse(box.id); } catch (e) { return; }
    window.dash_clientside.set_props(id, {open: box.open});
}, true);
