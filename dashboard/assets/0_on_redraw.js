// Scripts that fit things to what is on screen (title wrapping, table scroll hints) must run
// again whenever Dash or plotly replaces nodes and whenever the window resizes. One observer
// for all of them, and one pass per animation frame however many nodes changed.
// (Named to load first: Dash includes assets in filename order.)
(function () {
    const passes = [];
    let queued = false;

    function run() {
        queued = false;
        passes.forEach(function (pass) { pass(); });
    }

    function schedule() {
        if (queued) { return; }
        queued = true;
        window.requestAnimationFrame(run);
    }

    window.xborderOnRedraw = function (pass) {
        passes.push(pass);
        schedule();
    };

    new MutationObserver(schedule).observe(document.documentElement, {childList: true, subtree: true});
    window.addEventListener('resize', schedule);
    document.addEventListener('DOMContentLoaded', schedule);
}());
