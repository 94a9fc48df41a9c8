"""The systemd unit in deploy/ starts the project's own start script with settings the code reads."""

from tests.helpers import ROOT

UNIT = ROOT / "deploy" / "emergency.service"


def _entries() -> list[tuple[str, str, str]]:
    section, found = "", []
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        else:
            key, _, value = line.partition("=")
            found.append((section, key, value))
    return found


def test_the_unit_runs_start_sh_with_variables_the_code_reads():
    entries = _entries()
    exec_start = [v for s, k, v in entries if (s, k) == ("Service", "ExecStart")]
    assert len(exec_start) == 1 and exec_start[0].split()[0].endswith("/start.sh")
    start = ROOT / "start.sh"
    assert start.exists() and start.stat().st_mode & 0o111  # the script the unit runs is executable
    env = dict(v.split("=", 1) for s, k, v in entries if (s, k) == ("Service", "Environment"))
    assert set(env) == {"EMERGENCY_DB", "EMERGENCY_KEY_FILE", "PORT"}
    sources = (ROOT / "emergency" / "db.py").read_text() + (ROOT / "emergency" / "privacy.py").read_text()
    assert 'environ.get("EMERGENCY_DB")' in sources and 'environ.get("EMERGENCY_KEY_FILE")' in sources
    assert "${PORT:-8501}" in start.read_text()
    assert ("Install", "WantedBy", "multi-user.target") in entries


def test_the_shipped_streamlit_config_turns_the_post_run_gc_and_overlapping_runs_off():
    """runner.postScriptGC costs half the script thread at county size (DESIGN.md); runner.fastReruns
    lets a double click's second click run beside the first one's save, and both saved (a drill
    recorded twice in CI). Streamlit, started in the project's directory as start.sh does, must read
    both as off from .streamlit/config.toml."""
    import subprocess
    import sys
    import tomllib

    shipped = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert shipped["runner"]["postScriptGC"] is False and shipped["runner"]["fastReruns"] is False
    code = "from streamlit import config; print(config.get_option('runner.postScriptGC'), config.get_option('runner.fastReruns'))"
    read = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert read.stdout.strip() == "False False"
