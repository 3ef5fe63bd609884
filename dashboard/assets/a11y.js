// Accessibility repairs for Dash 4's core components, applied to the DOM they render (and again
// whenever Dash re-renders them). Each rule answers one axe-core finding on Dash 4.4:
//  - RadioItems/Checklist wrap native radios and checkboxes in role="listbox"/"option", which
//    nests interactive controls and names nothing: the native inputs (in a fieldset with a legend)
//    already say everything, so the roles go.
//  - Dropdown keeps its focus on an aria-hidden input: that input is named and announced as the
//    combobox it stands for (its label is the page's <label for> of the dropdown's button).
//  - DatePicker puts button ARIA on a plain <div>, and an English aria-label on its input that
//    overrides the page's own <label for>.
(function () {
    'use strict';

    function labelIdFor(el) {
        if (!el || !el.id) { return null; }
        const label = document.querySelector('label[for="' + CSS.escape(el.id) + '"]');
        if (!label) { return null; }
        if (!label.id) { label.id = el.id + '--label'; }
        return label.id;
    }

    function repairOptionLists(root) {
        root.querySelectorAll('.dash-options-list[role="listbox"]').forEach(function (list) {
            list.removeAttribute('role');
            list.querySelectorAll('.dash-options-list-option[role="option"]').forEach(function (opt) {
                opt.removeAttribute('role');
                opt.removeAttribute('aria-selected');
            });
        });
    }

    function repairDropdowns(root) {
        root.querySelectorAll('.dash-dropdown-wrapper').forEach(function (wrap) {
            const focus = wrap.querySelector('.dash-dropdown-focus-target');
            const button = wrap.querySelector('button.dash-dropdown');
            if (!focus || !button) { return; }
            if (focus.getAttribute('aria-hidden') === 'true') { focus.removeAttribute('aria-hidden'); }
            const names = [labelIdFor(button), button.getAttribute('aria-labelledby')].filter(Boolean).join(' ');
            const want = {'role': 'combobox', 'aria-haspopup': 'listbox',
                          'aria-expanded': button.getAttribute('aria-expanded') || 'false',
                          'aria-labelledby': names};
            Object.keys(want).forEach(function (k) {
                if (want[k] && focus.getAttribute(k) !== want[k]) { focus.setAttribute(k, want[k]); }
            });
        });
    }

    function repairDatePickers(root) {
        root.querySelectorAll('.dash-datepicker-input-wrapper').forEach(function (wrap) {
            ['aria-expanded', 'aria-haspopup', 'aria-disabled', 'type'].forEach(function (a) {
                if (wrap.hasAttribute(a)) { wrap.removeAttribute(a); }
            });
            wrap.querySelectorAll('input.dash-datepicker-input').forEach(function (input) {
                if (labelIdFor(input) && input.hasAttribute('aria-label')) { input.removeAttribute('aria-label'); }
            });
        });
    }

    let queued = false;
    function repairAll() {
        queued = false;
        repairOptionLists(document);
        repairDropdowns(document);
        repairDatePickers(document);
    }

    function queue() {
        if (!queued) { queued = true; window.requestAnimationFrame(repairAll); }
    }

    function start() {
        repairAll();
        new MutationObserver(queue).observe(document.body, {
            childList: true, subtree: true, attributes: true,
            attributeFilter: ['role', 'aria-hidden', 'aria-expanded', 'aria-label'],
        });
    }

    if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
})();
