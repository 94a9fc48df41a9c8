"""The bench's table (bench.format_table): each path's row takes each scale's figure by the path's
name, so a report put together from runs that measured different paths keeps its rows aligned."""

from emergency import bench


def _scale(scale: int, paths: list[tuple[str, float]]) -> dict:
    rows = [{"name": name, "ours_s": ours, "bare_s": ours / 2, "ratio": 2.0} for name, ours in paths]
    return {"scale": scale, "members": 1, "generate_s": 0, "file_mb": 0, "paths": rows, "pages": {}, "peak_rss_mb": 0}


def test_a_path_missing_in_one_scale_is_a_dash_there_and_the_rows_below_stay_in_place():
    table = bench.format_table(
        [
            _scale(1, [("stats", 0.010), ("plan compliance", 0.030)]),
            _scale(100, [("stats", 0.100), ("roster health page", 0.200), ("plan compliance", 0.300)]),
        ]
    )
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table.splitlines()}
    assert rows["stats ours / bare SQL"].endswith("| 10 / 5 ms (2.0×) | 100 / 50 ms (2.0×) |")
    assert rows["roster health page ours / bare SQL"].endswith("| — | 200 / 100 ms (2.0×) |")
    assert rows["plan compliance ours / bare SQL"].endswith("| 30 / 15 ms (2.0×) | 300 / 150 ms (2.0×) |")
