// A table wider than a phone scrolls sideways inside its box, and nothing said so: readers took
// the columns they saw for the whole table. Each sideways-scrolling box gets a class for the side
// that has more to show (style.css fades that edge), kept up to date as it scrolls, as the window
// resizes, and as Dash redraws its contents (0_on_redraw.js).
(function () {
    const BOXES = '.table-scroll';
    const SLACK = 2;  // px: sub-pixel widths are not "more"

    function mark(box) {
        const more = box.scrollWidth - box.clientWidth > SLACK;
        box.classList.toggle('scroll-more-left', more && box.scrollLeft > SLACK);
        box.classList.toggle('scroll-more-right', more && box.scrollLeft + box.clientWidth < box.scrollWidth - SLACK);
    }

    function markAll() {
        document.querySelectorAll(BOXES).forEach(function (box) {
            if (!box.dataset.scrollHint) {
                box.dataset.scrollHint = '1';
                box.addEventListener('scroll', function () { mark(box); }, {passive: true});
            }
            mark(box);
        });
    }

    window.xborderOnRedraw(markAll);
}());
