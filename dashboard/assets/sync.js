// Zoom or pan one timeline panel and the others follow (same x range).
window.xborderSyncAxes = function (cbctx, ids) {
    const nu = window.dash_clientside.no_update;
    if (!cbctx || !cbctx.triggered || !cbctx.triggered.length) { return nu; }
    const trig = cbctx.triggered[0];
    const source = trig.prop_id.split('.')[0];
    const rd = trig.value || {};
    let update = null;
    if (rd['xaxis.autorange']) {
        update = {'xaxis.autorange': true};
    } else if (rd['xaxis.range[0]'] !== undefined) {
        update = {'xaxis.range': [rd['xaxis.range[0]'], rd['xaxis.range[1]']]};
    } else if (rd['xaxis.range'] !== undefined) {
        update = {'xaxis.range': rd['xaxis.range']};
    }
    if (!update) { return nu; }
    ids.filter(id => id !== source).forEach(function (id) {
        const gd = document.querySelector('#' + id + ' .js-plotly-plot');
        if (!gd || !gd._fullLayout) { return; }
        const cur = gd._fullLayout.xaxis.range;
        const want = update['xaxis.range'];
        if (want && cur && String(cur[0]) === String(want[0]) && String(cur[1]) === String(want[1])) { return; }
        window.Plotly.relayout(gd, update);
    });
    return nu;
};

// Keep the address bar in step with a page's controls without a reload: replaceState fires no
// navigation, so Dash Pages does not re-render the page.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    xborder: {
        replaceQuery: function (q) {
            if (q === undefined || q === null) { return window.dash_clientside.no_update; }
            const url = window.location.pathname + q;
            if (url !== window.location.pathname + window.location.search) { window.history.replaceState(null, '', url); }
            return window.dash_clientside.no_update;
        }
    }
});
