// Zoom or pan one timeline panel and the others follow (same x range). The server callback
// zoom_range (pages/home.py) takes the range to the URL, the download and "Cite this view".
function xborderRange(rd) {
    if (!rd) { return null; }
    if (rd['xaxis.autorange']) { return {}; }
    if (rd['xaxis.range[0]'] !== undefined) { return {x0: String(rd['xaxis.range[0]']).slice(0, 10), x1: String(rd['xaxis.range[1]']).slice(0, 10)}; }
    if (rd['xaxis.range'] !== undefined) { return {x0: String(rd['xaxis.range'][0]).slice(0, 10), x1: String(rd['xaxis.range'][1]).slice(0, 10)}; }
    return null;
}

window.xborderSyncZoom = function (cbctx, current) {
    const nu = window.dash_clientside.no_update;
    if (!cbctx || !cbctx.triggered || !cbctx.triggered.length) { return nu; }
    // A batch may start with another chart's {autosize: true}: take the first x-range change.
    const trig = cbctx.triggered.find(function (t) { return xborderRange(t.value) !== null; });
    if (!trig) { return nu; }
    const range = xborderRange(trig.value);
    let source = null;
    try { source = JSON.parse(trig.prop_id.split('.relayoutData')[0]); } catch (e) { return nu; }
    const update = range.x0 ? {'xaxis.range': [range.x0, range.x1]} : {'xaxis.autorange': true};
    // Deferred: relayouts fired inside a running callback would stall Dash's callback queue.
    setTimeout(function () { xborderRelayoutOthers(source, range, update); }, 0);
    const same = current && (current.x0 || '') === (range.x0 || '') && (current.x1 || '') === (range.x1 || '');
    if (same) { return nu; }
    xborderZoomToUrl(range);
    return range;
};

// The zoomed range in the address bar and the "Cite this view" permalink (x0/x1 parameters).
function xborderZoomToUrl(range) {
    const set = function (href) {
        const u = new URL(href, window.location.href);
        if (range.x0) { u.searchParams.set('x0', range.x0); u.searchParams.set('x1', range.x1); }
        else { u.searchParams.delete('x0'); u.searchParams.delete('x1'); }
        return u;
    };
    const u = set(window.location.href);
    window.history.replaceState(null, '', u.pathname + u.search);
    const link = document.getElementById('permalink');
    if (link) { const p = set(link.getAttribute('href')); link.setAttribute('href', p.href); link.textContent = p.href; }
}

function xborderRelayoutOthers(source, range, update) {
    document.querySelectorAll('.panel-graph .js-plotly-plot').forEach(function (gd) {
        const box = gd.closest('.panel-graph');
        if (!box || box.id === JSON.stringify(source) || !gd._fullLayout) { return; }
        const cur = gd._fullLayout.xaxis.range;
        if (range.x0 && cur && String(cur[0]).slice(0, 10) === range.x0 && String(cur[1]).slice(0, 10) === range.x1) { return; }
        window.Plotly.relayout(gd, update);
    });
}

// "Copy embed code" and "SVG" buttons under each chart; the language switch keeps the view.
document.addEventListener('click', function (ev) {
    const sw = ev.target.closest('a.lang-switch');
    if (sw) {
        const u = new URL(window.location.href);
        u.searchParams.set('lang', sw.getAttribute('hreflang') || 'en');
        sw.setAttribute('href', u.pathname + u.search);
        return;
    }
    const embed = ev.target.closest('[data-embed]');
    if (embed) {
        const params = new URLSearchParams(window.location.search);
        params.set('chart', embed.getAttribute('data-embed'));
        const src = window.location.origin + '/embed?' + params.toString();
        const code = '<iframe src="' + src.replace(/"/g, '&quot;') + '" title="' + (document.title || '').replace(/"/g, '&quot;') +
            '" style="width:100%;aspect-ratio:16/11;border:0" loading="lazy"></iframe>';
        const done = function () { embed.setAttribute('data-copied', '1'); setTimeout(function () { embed.removeAttribute('data-copied'); }, 2000); };
        if (navigator.clipboard && navigator.clipboard.writeText) { navigator.clipboard.writeText(code).then(done, function () { window.prompt('', code); }); }
        else { window.prompt('', code); }
        embed.setAttribute('data-code', code);
        return;
    }
    const img = ev.target.closest('[data-svg], [data-png]');
    if (img) {
        const box = img.closest('.panel');
        const gd = box && box.querySelector('.js-plotly-plot');
        if (gd && window.Plotly) { xborderExport(gd, img.hasAttribute('data-svg') ? 'svg' : 'png',
                                                 img.getAttribute('data-svg') || img.getAttribute('data-png')); }
    }
});

// Keep the address bar in step with a page's controls without a reload: replaceState fires no
// navigation, so Dash Pages does not re-render the page.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
    xborder: {
        syncZoom: function (relayouts, current) {
            return window.xborderSyncZoom(window.dash_clientside.callback_context, current);
        },
        // The base date means something only for an index: greyed out under any other transform.
        indexAtDisabled: function (transform) { return transform !== 'index'; },
        replaceQuery: function (q) {
            if (q === undefined || q === null) { return window.dash_clientside.no_update; }
            const url = window.location.pathname + q;
            if (url !== window.location.pathname + window.location.search) { window.history.replaceState(null, '', url); }
            return window.dash_clientside.no_update;
        }
    }
});

// An exported chart carries its title, source (the subtitle) and, added here, the milestone key
// (layout.meta.milestone_key), so the image still says what its numbered markers are.
function xborderExport(gd, format, key) {
    const meta = (gd.layout && gd.layout.meta) || {};
    const text = meta.milestone_key || '';
    const lines = text ? text.split('<br>').length : 0;
    const extra = lines ? 15 * lines + 24 : 0;
    const full = gd._fullLayout;
    const layout = Object.assign({}, gd.layout, {
        width: full.width, height: full.height + extra,
        margin: Object.assign({}, full.margin, {b: full.margin.b + extra}),
        annotations: (gd.layout.annotations || []).concat(text ? [{
            // under the axis' tick labels; the legend keeps its place at the bottom
            text: text, xref: 'paper', yref: 'paper', x: 0, y: 0, yshift: -30, xanchor: 'left',
            yanchor: 'top', align: 'left', showarrow: false, font: {size: 10, color: '#444'}}] : [])
    });
    window.Plotly.toImage({data: gd.data, layout: layout}, {format: format, width: full.width, height: full.height + extra,
                                                           scale: format === 'png' ? 2 : 1})
        .then(function (url) {
            const a = document.createElement('a');
            a.href = url; a.download = 'xborder-' + key + '.' + format;
            document.body.appendChild(a); a.click(); a.remove();
        });
}

// On a phone the controls drawer starts closed, so the charts come first.
(function () {
    const close = function () {
        const d = document.getElementById('controls-drawer');
        if (d && !d.dataset.sized) { d.dataset.sized = '1'; if (window.innerWidth < 700) { d.open = false; } }
    };
    new MutationObserver(close).observe(document.documentElement, {childList: true, subtree: true});
})();
