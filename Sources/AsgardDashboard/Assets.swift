/// The dashboard's one stylesheet and its one small script, served from memory (no build
/// step, no network).
public enum Assets {
    /// Plain CSS: system fonts, contrast at least 4.5:1 for text, visible focus, one column on a phone.
    public static let stylesheet = """
        :root { --ink: #1b1f24; --muted: #4a5360; --line: #c9ced6; --bg: #ffffff; --panel: #f4f6f8; --accent: #1f5fa8;
                --ok: #1d6b3a; --bad: #a3231b; --warn: #7a5200; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--ink); background: var(--bg); line-height: 1.45; }
        a { color: var(--accent); }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
        .skip { position: absolute; left: -999px; } .skip:focus { left: 8px; top: 8px; background: #fff; padding: 4px 8px; z-index: 2; }
        header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: center; padding: 8px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
        header .brand { margin: 0; font-weight: 700; font-size: 1.2rem; } header .brand a { color: var(--ink); text-decoration: none; }
        nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0; padding: 0; }
        nav a[aria-current=page] { font-weight: 700; text-decoration-thickness: 3px; }
        #logout { margin-left: auto; display: flex; gap: 12px; align-items: center; }
        main { max-width: 1100px; margin: 0 auto; padding: 12px 20px 48px; }
        h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 1.6em; } h3 { font-size: 1.05rem; }
        .muted { color: var(--muted); }
        .notice, .error { padding: 10px 14px; border-radius: 4px; border-left: 5px solid; }
        .notice { background: #e8f4ec; border-color: var(--ok); } .error { background: #fbeaea; border-color: var(--bad); }
        p.ok { color: var(--ok); font-weight: 600; } p.error { font-weight: 600; }
        .toolbar { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-end; }
        form { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-end; }
        .card { flex-direction: column; align-items: stretch; max-width: 28rem; padding: 16px; border: 1px solid var(--line); border-radius: 6px; }
        .field { display: flex; flex-direction: column; gap: 2px; } label { font-size: 0.9rem; color: var(--muted); }
        input, select, button { font: inherit; padding: 6px 10px; border: 1px solid #7b8491; border-radius: 4px; min-height: 2.4rem; }
        button { background: #fff; cursor: pointer; } button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
        button.danger { background: var(--bad); color: #fff; border-color: var(--bad); }
        table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 0.92rem; }
        caption { text-align: left; color: var(--muted); padding: 4px 0; }
        th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
        td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
        td.details code, td code { font-size: 0.82rem; word-break: break-all; }
        .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 0.85rem; border: 1px solid; }
        .badge.measured { color: var(--ok); } .badge.estimate { color: var(--warn); background: repeating-linear-gradient(45deg, #fff, #fff 3px, #f6e7c4 3px, #f6e7c4 6px); }
        .badge.not_measured { color: var(--bad); border-style: dashed; }
        dl.budget, dl.facts { display: flex; flex-wrap: wrap; gap: 8px 28px; margin: 8px 0; }
        dl div { min-width: 8rem; } dt { font-size: 0.85rem; color: var(--muted); } dd { margin: 0; font-weight: 600; }
        section.project { border-top: 1px solid var(--line); margin-top: 20px; }
        svg.chart { width: 100%; height: auto; max-height: 300px; display: block; }
        svg .grid { stroke: #e1e5ea; } svg .axis { font-size: 11px; fill: var(--muted); }
        svg .budget { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 6 4; } svg .budget-label { font-size: 11px; fill: var(--bad); }
        svg .no-figures { stroke: #8a929c; stroke-width: 3; }
        .swatch.no-figures { height: 0; border: 0; border-top: 3px solid #8a929c; }
        svg .not_measured { fill: #fff; stroke: var(--bad); stroke-dasharray: 3 2; }
        ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; font-size: 0.88rem; }
        .swatch { display: inline-block; width: 14px; height: 14px; margin-right: 6px; vertical-align: -2px; border: 1px solid #555; }
        .v0 { background: #1f5fa8; } .v1 { background: #b3541e; } .v2 { background: #2f7d4f; } .v3 { background: #7a4bb0; } .v4 { background: #8a6d00; } .v5 { background: #a3284b; }
        .swatch.hatched { background: repeating-linear-gradient(45deg, #fff, #fff 3px, #555 3px, #555 6px); }
        .swatch.not-measured { background: #fff; border: 1px dashed var(--bad); }
        .swatch.budget-line { height: 0; border: 0; border-top: 2px dashed var(--bad); }
        article.approval { border: 1px solid var(--line); border-radius: 6px; padding: 4px 16px 12px; margin: 12px 0; }
        .decide { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-end; }
        td.drift { color: var(--bad); font-weight: 600; }
        @media (max-width: 640px) {
          main { padding: 8px 10px 32px; } header { padding: 8px 10px; } #logout { margin-left: 0; }
          table { display: block; overflow-x: auto; } .toolbar, form { flex-direction: column; align-items: stretch; }
        }
        """

    /// Asks before a form with `data-confirm` posts; without JavaScript the form posts directly.
    public static let script = """
        document.addEventListener("submit", function (event) {
          var form = event.target;
          var question = form.getAttribute("data-confirm");
          if (question && !window.confirm(question)) { event.preventDefault(); }
        });
        """
}
