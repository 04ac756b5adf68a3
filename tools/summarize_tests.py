"Print one line `total: N passed, N failed, N skipped` from a JUnit XML file."
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == 'testsuite' else root.findall('testsuite')
tests = sum(int(s.get('tests', 0)) for s in suites)
failed = sum(int(s.get('failures', 0)) + int(s.get('errors', 0)) for s in suites)
skipped = sum(int(s.get('skipped', 0)) for s in suites)
print(f"total: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped")
