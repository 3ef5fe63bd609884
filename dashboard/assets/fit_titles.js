// SVG titles never wrap themselves, so the server wraps each chart's title and source line for a
// phone, the narrowest chart (figures.title_fit). On a desktop that left a title in a column of
// 300 px over a plot of 1,100 and a source in five lines. Here each is re-wrapped to the chart's
// own width, measured in its own font, and the top margin gives back (or takes) the lines saved
// (or added), by the rule the server built it with, from the margin it built. Charts without layout.meta.fit are left alone.
(function () {
    const ctx = document.createElement('canvas').getContext('2d');
    const SLACK = 24;  // px: the title starts at 1% of the width; keep clear of the right edge

    function lines(text, size, family, width) {
        ctx.font = size + 'px ' + family;
        const out = [];
        let cur = '';
        text.split(' ').filter(Boolean).forEach(function (word) {  // no-break spaces hold ("EE. UU.")
            const next = cur ? cur + ' ' + word : word;
            if (cur && ctx.measureText(next).width > width) { out.push(cur); cur = word; } else { cur = next; }
        });
        if (cur) { out.push(cur); }
        return out;
    }

    function fit(gd) {
        const layout = gd.layout, full = gd._fullLayout;
        const f = layout && layout.meta && layout.meta.fit;
        if (!f || !full || !full.width || !window.Plotly) { return; }
        const family = (full.font && full.font.family) || 'sans-serif';
        const width = full.width * 0.99 - SLACK;
        let saved = 0;
        const title = f.title.map(function (part) {
            const ls = lines(part.text, part.size, family, width);
            saved += (part.lines - ls.length) * f.title_line;
            return ls.map(function (l) { return part.style ? "<span style='" + part.style + "'>" + l + '</span>' : l; })
                .join('<br>');
        }).join('<br>');
        const src = f.source.text ? lines(f.source.text, f.source.size, family, width) : [];
        if (f.source.text) { saved += (f.source.lines - src.length) * f.source_line; }
        // From the margin the server built (f.top), never from the current one: Dash hands the
        // graph back a copy of the re-fitted layout, and fitting that again lost the lines twice.
        const top = Math.max(f.top_min, f.top - saved);
        const sub = src.join('<br>');
        const cur = layout.title || {};
        if (cur.text === title && (!f.source.text || (cur.subtitle || {}).text === sub) && layout.margin.t === top) { return; }
        const update = {'title.text': title, 'margin.t': top};
        if (f.source.text) { update['title.subtitle.text'] = sub; }
        window.Plotly.relayout(gd, update);
    }

    window.xborderOnRedraw(function () { document.querySelectorAll('.js-plotly-plot').forEach(fit); });
}());
