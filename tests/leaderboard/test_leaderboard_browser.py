"""The HTML board in a real headless Chromium: loads without console errors, sorts on header click, filters rows.

Needs Debian's `chromium` and `chromium-driver` (CI: `apt-get install -y chromium chromium-driver`) and the
`selenium` dev dependency; skips only when Chromium itself is not installed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from codequarry.leaderboard import build_leaderboard

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CLEANED = "csn-cleaned--full-codebase-mrr_at_1000--mrr_at_1000--test"


@pytest.fixture(scope="module")
def page(tmp_path_factory, results_dir) -> Path:
    out = tmp_path_factory.mktemp("browser-board")
    return build_leaderboard([results_dir], out, formats="html", compare_reported=True)["html"][0]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Chromium is not installed (Debian: apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path_factory.mktemp("chromium-profile")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", f"--user-data-dir={profile}", "--window-size=1440,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


def _column_values(driver, table_id: str, column: str) -> list[str]:
    script = """
      const section = document.getElementById(arguments[0]);
      return Array.from(section.querySelectorAll('tbody tr')).map(
        tr => tr.querySelector('td[data-col="' + arguments[1] + '"]').getAttribute('data-sort'));
    """
    return driver.execute_script(script, table_id, column)


def _visible_rows(driver) -> int:
    return sum(1 for tr in driver.find_elements("css selector", "section.board tbody tr") if tr.is_displayed())


def test_board_in_headless_chromium(driver, page, tmp_path):
    from selenium.webdriver.support.ui import Select

    driver.get(page.as_uri())
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    total = len(driver.find_elements("css selector", "section.board tbody tr"))
    assert total == 52
    count = driver.find_element("id", "row-count")
    assert count.text == f"{total} of {total} rows shown" and _visible_rows(driver) == total

    # sorting: rows come ranked by the average; clicking "go" re-sorts by go, best first, blanks last
    before = _column_values(driver, CLEANED, "go")
    header = driver.find_element("css selector", f'#{CLEANED} thead th[data-col="go"]')
    header.click()
    after = _column_values(driver, CLEANED, "go")
    numbers = [float(v) for v in after if v]
    assert after != before and sorted(before) == sorted(after)
    assert numbers == sorted(numbers, reverse=True) and after[-1] == ""  # all-MiniLM-L6-v2 has no go result
    assert header.get_attribute("aria-sort") == "descending"
    header.click()
    ascending = _column_values(driver, CLEANED, "go")
    assert [float(v) for v in ascending if v] == sorted(numbers) and ascending[-1] == ""
    assert header.get_attribute("aria-sort") == "ascending"
    driver.find_element("css selector", f"#{CLEANED} thead th:nth-child(2)").click()  # Model, A→Z
    names = [td.text for td in driver.find_elements("css selector", f"#{CLEANED} tbody td.model")]
    assert names == sorted(names, key=str.casefold)

    # provenance filter: hiding reported rows leaves the 8 reproduced ones (one per model and table)
    driver.find_element("css selector", '#filter-provenance input[value="reported"]').click()
    reproduced = _visible_rows(driver)
    assert reproduced == 8 and count.get_attribute("data-shown") == "8"
    assert all(tr.get_attribute("data-provenance") == "reproduced"
               for tr in driver.find_elements("css selector", "section.board tbody tr") if tr.is_displayed())
    driver.find_element("css selector", '#filter-provenance input[value="reported"]').click()
    assert _visible_rows(driver) == total

    # language filter: unchecking python hides the python column and rows with only python values
    driver.find_element("css selector", '#filter-column input[value="python"]').click()
    assert not driver.find_element("css selector", f'#{CLEANED} thead th[data-col="python"]').is_displayed()
    assert _visible_rows(driver) < total
    driver.find_element("css selector", '#filter-column input[value="python"]').click()

    # task filter: one table left
    Select(driver.find_element("id", "filter-task")).select_by_value("cosqa--cosqa-pool-mrr--mrr--test")
    shown = [s.get_attribute("data-task") for s in driver.find_elements("css selector", "section.board")
             if s.is_displayed()]
    assert shown == ["cosqa--cosqa-pool-mrr--mrr--test"] and _visible_rows(driver) == 4
    Select(driver.find_element("id", "filter-task")).select_by_value("")

    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    driver.execute_script("console.error('control: the console log is being read')")  # the check can fail
    assert any("control" in e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE")
    shot = tmp_path / "leaderboard.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
