// Spanish dates on the charts as the text beside them writes them (es-MX, Babel's CLDR names):
// "ene 2021", not plotly's "es" locale's "Ene 2021". Only the date format is given here; plotly
// falls back from "es-MX" to "es" for the rest (the toolbar's words), and the layouts set the
// decimal and thousands marks (figures.SEPARATORS). Registered like plotly's own locale files,
// so it reaches whichever bundle loads (the basic one, or the full one on /maps).
(function () {
    var locale = {moduleType: 'locale', name: 'es-MX', format: {
        days: ['domingo', 'lunes', 'martes', 'miércoles', 'jueves', 'viernes', 'sábado'],
        shortDays: ['dom', 'lun', 'mar', 'mié', 'jue', 'vie', 'sáb'],
        months: ['enero', 'febrero', 'marzo', 'abril', 'mayo', 'junio', 'julio', 'agosto', 'septiembre',
                 'octubre', 'noviembre', 'diciembre'],
        shortMonths: ['ene', 'feb', 'mar', 'abr', 'may', 'jun', 'jul', 'ago', 'sep', 'oct', 'nov', 'dic'],
        date: '%d/%m/%Y', decimal: '.', thousands: ','
    }};
    if (typeof Plotly === 'undefined') {
        window.PlotlyLocales = window.PlotlyLocales || [];
        window.PlotlyLocales.push(locale);
    } else {
        Plotly.register(locale);
    }
})();
