#!/usr/bin/env python3
"""A held-out labelled PII corpus for the redaction engine (issue #12, "Held-out generalisation").

Writes JSON lines {"id", "domain", "text", "spans": [{"start", "end", "label"}]} (offsets in Unicode scalars, the
format of scripts/redaction_eval.py) from a fixed seed, so the corpus is reproducible and needs no file outside
this repository. It is written independently of the development corpus (../shared/data/pii-dev.jsonl): other
document kinds, other field names and formats, and negatives built to look like the positives —

  delimited text (CSV, TSV, semicolon, pipe; quoted cells; varied, cased and abbreviated headers), JSON (pretty and
  compact, camelCase and snake_case, nested), YAML, key=value log lines, HTML forms and definition lists, e-mails and
  chat messages, form printouts, and prose;
  SSNs with hyphens, spaces, dots or no separator, the last only where a label, column header, JSON key or form
  field names them; phone numbers with hyphens, dots, spaces, slashes, parentheses, +country codes;
  negatives: 9-digit order numbers, employee ids, routing numbers and ZIP+4 without hyphen in their own columns,
  ZIP+4 codes, ISBNs, invoice numbers, versions, amounts, and dates (which are labelled DATE).

Labels: US_SSN, PHONE, EMAIL, CREDIT_CARD, IBAN, IP_ADDRESS, SECRET, DATE. No person names or URLs are written, so
no PERSON or URL span is expected (a prediction of those is a false positive of its own label only).

Usage:
    scripts/heldout_redaction.py [--seed 1207] [--docs 1200] > /tmp/heldout.jsonl
    scripts/heldout_redaction.py --eval [--check] -- .build/debug/sealgate redact --profile all
"""
import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile


class Doc:
    """Text built from pieces, each optionally labelled."""

    def __init__(self):
        self.parts, self.spans, self.n = [], [], 0

    def add(self, text, label=None):
        if label:
            self.spans.append({"start": self.n, "end": self.n + len(text), "label": label})
        self.parts.append(text)
        self.n += len(text)
        return self

    def text(self):
        return "".join(self.parts)


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def pick(self, xs):
        return self.r.choice(xs)

    # ---- values
    def ssn_digits(self):
        r = self.r
        while True:
            area = r.randint(1, 899)
            if area != 666:
                break
        return f"{area:03d}", f"{r.randint(1, 99):02d}", f"{r.randint(1, 9999):04d}"

    def ssn(self, sep):
        a, g, s = self.ssn_digits()
        return f"{a}{sep}{g}{sep}{s}"

    def nine_digits_negative(self):
        # Not an SSN by content either way: what matters is that the context does not name one.
        return str(self.r.randint(100_000_000, 999_999_999))

    def phone(self, style=None):
        r = self.r
        area = r.choice([201, 212, 303, 312, 404, 415, 503, 617, 646, 702, 718, 773, 808, 919])
        ex = r.randint(200, 989)
        line = r.randint(0, 9999)
        style = style or r.choice(["dash", "dot", "space", "slash", "slash2", "paren", "paren-nospace", "plus-space",
                                   "plus-dash", "plus-dot", "intl-uk", "intl-de", "intl-de-slash", "intl-fr", "plus-paren"])
        return {
            "dash": f"{area}-{ex}-{line:04d}", "dot": f"{area}.{ex}.{line:04d}", "space": f"{area} {ex} {line:04d}",
            "slash": f"{area}/{ex}-{line:04d}", "slash2": f"{area}/{ex}/{line:04d}", "paren": f"({area}) {ex}-{line:04d}",
            "paren-nospace": f"({area}){ex}-{line:04d}", "plus-space": f"+1 {area} {ex} {line:04d}",
            "plus-dash": f"+1-{area}-{ex}-{line:04d}", "plus-dot": f"+1.{area}.{ex}.{line:04d}",
            "intl-uk": f"+44 20 {r.randint(7000, 8999)} {r.randint(0, 9999):04d}",
            "intl-de": f"+49 30 {r.randint(100, 999)} {r.randint(1000, 99999)}",
            "intl-de-slash": f"030/{r.randint(100000, 9999999)}",
            "intl-fr": f"+33 {r.randint(1, 9)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)} {r.randint(10, 99)}",
            "plus-paren": f"+1 ({area}) {ex}-{line:04d}",
        }[style]

    def email(self):
        r = self.r
        local = r.choice(["ops", "billing", "j.doe", "k_lee", "support+tickets", "it-desk", "m.r.ortiz", "user" + str(r.randint(1, 999)),
                          "Hr.Team", "noreply", "a" + "".join(r.choices(string.ascii_lowercase, k=6))])
        dom = r.choice(["example.com", "mail.example.org", "corp.example.net", "example.co.uk", "sub.dept.example.io", "EXAMPLE.COM"])
        return f"{local}@{dom}"

    def luhn_complete(self, prefix, length):
        r = self.r
        digits = [int(c) for c in prefix] + [r.randint(0, 9) for _ in range(length - len(prefix) - 1)]
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2 == 0:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        return "".join(map(str, digits)) + str((10 - total % 10) % 10)

    def card(self):
        r = self.r
        kind = r.choice(["visa", "mc", "amex", "disc"])
        if kind == "amex":
            n = self.luhn_complete(r.choice(["34", "37"]), 15)
            groups = [n[:4], n[4:10], n[10:]]
        else:
            n = self.luhn_complete({"visa": "4", "mc": r.choice(["51", "52", "55", "2221"]), "disc": "6011"}[kind], 16)
            groups = [n[i:i + 4] for i in range(0, 16, 4)]
        sep = r.choice([" ", "-", ""])
        return sep.join(groups)

    def iban(self):
        r = self.r
        country, blen = r.choice([("DE", 18), ("GB", 18), ("FR", 23), ("NL", 14), ("ES", 20), ("IT", 23)])
        if country == "GB":
            bban = r.choice(["NWBK", "BARC", "HSBC"]) + "".join(r.choices(string.digits, k=14))
        elif country == "NL":
            bban = r.choice(["ABNA", "INGB", "RABO"]) + "".join(r.choices(string.digits, k=10))
        elif country == "IT":
            bban = r.choice(string.ascii_uppercase) + "".join(r.choices(string.digits, k=22))
        else:
            bban = "".join(r.choices(string.digits, k=blen))
        num = "".join(str(int(c, 36)) for c in bban + country + "00")
        check = 98 - int(num) % 97
        iban = f"{country}{check:02d}{bban}"
        return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4)) if r.random() < 0.5 else iban

    def ipv4(self):
        r = self.r
        return ".".join(str(x) for x in [r.choice([10, 172, 192, 81, 104, 203, 45]), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254)])

    def ipv6(self):
        r = self.r
        groups = [f"{r.randint(0, 0xffff):x}" for _ in range(8)]
        return r.choice(["2001:db8:" + ":".join(groups[2:]), "fe80::" + ":".join(groups[:4]), ":".join(groups)])

    def secret(self):
        r = self.r
        an = string.ascii_letters + string.digits
        kind = r.choice(["aws", "gh", "slack", "stripe", "jwt", "google"])
        if kind == "aws":
            return "AKIA" + "".join(r.choices(string.ascii_uppercase + string.digits, k=16))
        if kind == "gh":
            return "ghp_" + "".join(r.choices(an, k=36))
        if kind == "slack":
            return f"xoxb-{r.randint(10 ** 10, 10 ** 11)}-{r.randint(10 ** 10, 10 ** 11)}-" + "".join(r.choices(an, k=24))
        if kind == "stripe":
            return "sk_live_" + "".join(r.choices(an, k=24))
        if kind == "google":
            return "AIza" + "".join(r.choices(an + "-_", k=35))
        b64 = lambda k: "".join(r.choices(an + "-_", k=k))
        return "eyJhbGciOiJIUzI1NiJ9." + "eyJ" + b64(40) + "." + b64(43)

    def date(self):
        r = self.r
        y, m, d = r.randint(1950, 2026), r.randint(1, 12), r.randint(1, 28)
        months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        return r.choice([f"{y}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y}", f"{d} {months[m - 1]} {y}", f"{months[m - 1][:3]} {d}, {y}"])

    def zip4(self):
        return f"{self.r.randint(10000, 99950)}-{self.r.randint(1, 9999):04d}"

    # ---- documents
    SSN_HEADERS = ["SSN", "ssn", "Social Security Number", "social_security_no", "SocialSecurityNumber", "SS#", "Soc Sec No",
                   "soc_sec_num", "SSN (no dashes)", "employee_ssn", "Applicant SSN", "ssn_number", "SSNumber"]
    PHONE_HEADERS = ["Phone", "phone_number", "Mobile #", "Work Tel.", "contact_phone", "Cell", "Telephone", "Fax", "tel",
                     "PhoneNumber", "Home phone", "mobile_no", "Daytime Phone"]
    NEG_HEADERS = ["order_no", "Employee ID", "Routing Number", "zip_plus4", "npi", "Badge #", "account_ref", "Invoice", "Case Number"]

    def cell(self, kind):
        """(text, label) for a cell of a column kind."""
        r = self.r
        if kind == "ssn":
            return self.ssn(r.choice(["", "", "-", " ", "."])), "US_SSN"
        if kind == "phone":
            return self.phone(), "PHONE"
        if kind == "email":
            return self.email(), "EMAIL"
        if kind == "date":
            return self.date(), "DATE"
        if kind == "ip":
            return self.ipv4(), "IP_ADDRESS"
        if kind == "neg9":
            return self.nine_digits_negative(), None
        if kind == "amount":
            return f"{r.randint(1, 99999)}.{r.randint(0, 99):02d}", None
        if kind == "team":
            return r.choice(["ops", "finance", "R&D", "north-east", "legal", "Support Tier 2"]), None
        return "x", None

    def table(self):
        r = self.r
        sep = r.choice([",", "\t", ";", "|"])
        cols = [("ssn", r.choice(self.SSN_HEADERS)), ("phone", r.choice(self.PHONE_HEADERS)),
                ("neg9", r.choice(self.NEG_HEADERS)), ("team", r.choice(["Team", "dept", "Region", "unit"]))]
        cols += r.sample([("email", r.choice(["Email", "e-mail address", "contact_email"])), ("date", r.choice(["Hired", "dob", "Start date"])),
                          ("amount", r.choice(["Amount", "balance_usd"])), ("neg9", r.choice(self.NEG_HEADERS)), ("ip", "Last IP")], 2)
        r.shuffle(cols)
        quote_all = quote = r.random() < 0.3 and sep in ",;"
        doc = Doc()
        if r.random() < 0.4:
            doc.add(r.choice(["Export generated for audit.\n", "# staff roster\n", "Attached are the rows you asked for:\n\n"]))
        doc.add(sep.join(f'"{h}"' if quote else h for _, h in cols) + "\n")
        for _ in range(r.randint(2, 6)):
            for j, (kind, _) in enumerate(cols):
                if j:
                    doc.add(sep)
                val, label = self.cell(kind)
                quote = quote_all or sep in val  # a cell holding the delimiter is quoted, as every CSV writer does
                if quote:
                    doc.add('"')
                doc.add(val, label)
                if quote:
                    doc.add('"')
            doc.add("\n")
        return "table", doc

    def json_doc(self):
        r = self.r
        camel = r.random() < 0.5
        k = lambda snake, cam: cam if camel else snake
        ssn_sep = r.choice(["", "", "-", " "])
        items = [
            (k(r.choice(["ssn", "social_security_number", "ssn_value"]), r.choice(["ssn", "socialSecurityNumber", "ssnNumber"])), self.ssn(ssn_sep), "US_SSN", True),
            (k(r.choice(["phone", "mobile_phone", "fax_number"]), r.choice(["phone", "mobilePhone", "workPhone"])), self.phone(), "PHONE", True),
            (k("order_id", "orderId"), self.nine_digits_negative(), None, r.random() < 0.5),
            (k("employee_number", "employeeNumber"), self.nine_digits_negative(), None, True),
            (k("postal_code", "postalCode"), self.zip4(), None, True),
            (k("email", "emailAddress"), self.email(), "EMAIL", True),
            (k("created_at", "createdAt"), self.date(), "DATE", True),
        ]
        r.shuffle(items)
        indent = r.choice([None, 2, 4])
        doc = Doc()
        nl = "\n" if indent else ""
        pad = " " * (indent or 0)
        nest = r.random() < 0.4
        doc.add("{" + nl)
        if nest:
            doc.add(f'{pad}"{k("record_type", "recordType")}": "applicant",{nl}{pad}"{k("person", "person")}": {{{nl}')
        inner = pad * (2 if nest else 1)
        for i, (key, val, label, quoted) in enumerate(items):
            doc.add(f'{inner}"{key}":{" " if indent or r.random() < 0.5 else ""}')
            if quoted or not val.isdigit():
                doc.add('"').add(val, label).add('"')
            else:
                doc.add(val, label)
            doc.add(("," if i < len(items) - 1 else "") + nl)
        if nest:
            doc.add(pad + "}" + nl)
        doc.add("}")
        return "json", doc

    def yaml_doc(self):
        r = self.r
        doc = Doc()
        doc.add(r.choice(["applicant:\n", "employee:\n", "---\nrecord:\n"]))
        doc.add("  id: ").add(self.nine_digits_negative()).add("\n")
        doc.add(f"  {r.choice(['ssn', 'social_security', 'ssn_no'])}: ").add(self.ssn(r.choice(["", "-"])), "US_SSN").add("\n")
        doc.add("  contact:\n")
        doc.add(f"    {r.choice(['phone', 'mobile', 'tel'])}: ").add(self.phone(), "PHONE").add("\n")
        doc.add(f"    {r.choice(['email', 'mail'])}: ").add(self.email(), "EMAIL").add("\n")
        doc.add("    zip: ").add(self.zip4()).add("\n")
        doc.add("  start: ").add(self.date(), "DATE").add("\n")
        return "yaml", doc

    def kv_log(self):
        r = self.r
        doc = Doc()
        doc.add(f"{r.choice(['INFO', 'WARN', 'DEBUG'])} request_id={self.nine_digits_negative()} ")
        fields = [
            (r.choice(["ssn", "applicant.ssn", "SSN"]), lambda: self.ssn(r.choice(["", "-"])), "US_SSN"),
            (r.choice(["phone", "callback_number", "tel"]), lambda: self.phone(), "PHONE"),
            ("client_ip", self.ipv4, "IP_ADDRESS"),
            (r.choice(["api_key", "token", "auth"]), self.secret, "SECRET"),
            ("order", self.nine_digits_negative, None),
            ("zip", lambda: str(self.r.randint(10000, 99999)) + f"{self.r.randint(1, 9999):04d}", None),
        ]
        r.shuffle(fields)
        for i, (key, fn, label) in enumerate(fields[: r.randint(3, 6)]):
            val = fn()
            q = '"' if " " in val else ""
            doc.add(f"{key}={q}").add(val, label).add(f"{q} ")
        doc.add("status=ok")
        return "kv", doc

    def html_form(self):
        r = self.r
        doc = Doc()
        doc.add('<form action="/apply" method="post">\n')
        sid = r.choice(["ssn", "applicant_ssn", "social-security-number"])
        doc.add(f'  <label for="{sid}">{r.choice(["Social Security Number", "SSN", "Soc. Sec. #"])}</label>\n')
        doc.add(f'  <input type="text" id="{sid}" name="{sid}" value="').add(self.ssn(r.choice(["", "-"])), "US_SSN").add('">\n')
        pid = r.choice(["phone", "tel", "mobile_number"])
        doc.add(f'  <input type="tel" name="{pid}" value="').add(self.phone(), "PHONE").add('">\n')
        doc.add('  <input type="text" name="order_number" value="').add(self.nine_digits_negative()).add('">\n')
        doc.add("</form>\n<dl>\n")
        doc.add(f"  <dt>{r.choice(['SSN', 'Social security no.'])}</dt><dd>").add(self.ssn(r.choice(["", " ", "-"])), "US_SSN").add("</dd>\n")
        doc.add(f"  <dt>{r.choice(['Phone', 'Fax', 'Mobile'])}</dt><dd>").add(self.phone(), "PHONE").add("</dd>\n")
        doc.add("  <dt>Reference</dt><dd>").add(self.nine_digits_negative()).add("</dd>\n</dl>")
        return "html", doc

    def email_msg(self):
        r = self.r
        doc = Doc()
        doc.add("From: ").add(self.email(), "EMAIL").add("\nTo: ").add(self.email(), "EMAIL")
        doc.add(f"\nSubject: {r.choice(['Re: onboarding paperwork', 'W-4 correction', 'Updated contact details', 'Benefits enrolment'])}\n\n")
        doc.add(r.choice(["Hello,\n\n", "Hi team,\n\n", "Good morning,\n\n"]))
        style = r.randint(0, 4)
        if style == 0:
            doc.add("My social security number is ").add(self.ssn(r.choice(["", "-", " "])), "US_SSN").add(
                " and the best number to reach me is ").add(self.phone(), "PHONE").add(".\n")
        elif style == 1:
            doc.add("Please update the file:\n  SSN: ").add(self.ssn(r.choice(["", "."])), "US_SSN").add("\n  New phone: ").add(
                self.phone(), "PHONE").add("\n")
        elif style == 2:
            doc.add(f"The order {self.nine_digits_negative()} for ZIP {self.zip4()} shipped on ").add(self.date(), "DATE").add(
                ". Call ").add(self.phone(), "PHONE").add(" with questions.\n")
        elif style == 3:
            doc.add("For payroll, SSN ").add(self.ssn(""), "US_SSN").add(", direct deposit to ").add(self.iban(), "IBAN").add(".\n")
        else:
            doc.add("Card on file: ").add(self.card(), "CREDIT_CARD").add(f"; invoice INV-{self.r.randint(10 ** 7, 10 ** 8)} is paid.\n")
        doc.add(r.choice(["\nThanks!\n", "\nRegards\n", "\n-- \nsent from my phone\n"]))
        return "email", doc

    def chat(self):
        r = self.r
        doc = Doc()
        for _ in range(r.randint(2, 4)):
            who = r.choice(["agent", "customer"])
            doc.add(f"[{r.randint(0, 23):02d}:{r.randint(0, 59):02d}] {who}: ")
            c = r.randint(0, 5)
            if c == 0:
                doc.add("ssn is ").add(self.ssn(""), "US_SSN")
            elif c == 1:
                doc.add("you can text me at ").add(self.phone(), "PHONE")
            elif c == 2:
                # a USPS tracking number: 22 digits in groups of four
                track = "94" + "".join(str(self.r.randint(0, 9)) for _ in range(20))
                doc.add("my order number is ").add(self.nine_digits_negative()).add(", tracking ").add(" ".join(track[i:i + 4] for i in range(0, 22, 4)))
            elif c == 3:
                doc.add("the login came from ").add(self.r.choice([self.ipv4, self.ipv6])(), "IP_ADDRESS")
            elif c == 4:
                doc.add("isbn of the book is 978-").add(f"{r.randint(0, 9)}-{r.randint(10, 99)}-{r.randint(100000, 999999)}-{r.randint(0, 9)}")
            else:
                doc.add("it was delivered ").add(self.date(), "DATE").add(", version ").add(f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 99)}")
            doc.add("\n")
        return "chat", doc

    def printout(self):
        r = self.r
        doc = Doc()
        doc.add(r.choice(["APPLICATION FOR EMPLOYMENT\n\n", "PATIENT INTAKE\n\n", "VENDOR FORM W-9 (summary)\n\n"]))
        dots = lambda: r.choice([": ", " ....... ", ":\t", " - ", " #: "])
        doc.add(f"{r.choice(['Social Security No.', 'SSN', 'S.S.N.', 'Soc Sec #'])}{dots()}").add(self.ssn(r.choice(["", " ", "-"])), "US_SSN").add("\n")
        doc.add(f"{r.choice(['Home Phone', 'Tel.', 'Phone (cell)', 'Contact number'])}{dots()}").add(self.phone(), "PHONE").add("\n")
        doc.add(f"{r.choice(['Date of birth', 'DOB', 'Date'])}{dots()}").add(self.date(), "DATE").add("\n")
        doc.add(f"{r.choice(['Employee ID', 'File No.', 'Member number'])}{dots()}").add(self.nine_digits_negative()).add("\n")
        doc.add(f"ZIP{dots()}").add(self.zip4()).add("\n")
        if r.random() < 0.5:
            doc.add(f"{r.choice(['SSN', 'Social Security Number'])}\n").add(self.ssn(""), "US_SSN").add("\n")
        return "printout", doc

    def prose(self):
        r = self.r
        doc = Doc()
        c = r.randint(0, 5)
        if c == 0:
            doc.add(f"Shipment {self.nine_digits_negative()} left the depot for ZIP {self.zip4()} on ").add(self.date(), "DATE").add(
                f"; the routing number {self.nine_digits_negative()} was used for the refund of ${r.randint(10, 999)}.{r.randint(0, 99):02d}.")
        elif c == 1:
            doc.add("The server at ").add(self.ipv4(), "IP_ADDRESS").add(" rejected the key ").add(self.secret(), "SECRET").add(" twice.")
        elif c == 2:
            doc.add("Wire the deposit to ").add(self.iban(), "IBAN").add(" and send the receipt to ").add(self.email(), "EMAIL").add(".")
        elif c == 3:
            doc.add("Reach the on-call engineer on ").add(self.phone(), "PHONE").add(" or the backup on ").add(self.phone(), "PHONE").add(".")
        elif c == 4:
            doc.add("The customer paid with ").add(self.card(), "CREDIT_CARD").add(f" for order #{self.nine_digits_negative()}.")
        else:
            doc.add("Her Social Security number, ").add(self.ssn(r.choice(["", "-"])), "US_SSN").add(
                f", was entered in field 7 of form {r.randint(1000, 9999)}-{r.choice(['A', 'B', 'EZ'])}.")
        return "prose", doc

    def corpus(self, n):
        kinds = [self.table, self.table, self.json_doc, self.yaml_doc, self.kv_log, self.html_form, self.email_msg, self.chat,
                 self.printout, self.prose, self.prose]
        for i in range(n):
            domain, doc = self.r.choice(kinds)()
            yield {"id": f"heldout-{i:05d}", "domain": domain, "text": doc.text(), "spans": doc.spans}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1207)
    ap.add_argument("--docs", type=int, default=1200)
    ap.add_argument("--eval", action="store_true", help="generate to a temporary file and run scripts/redaction_eval.py on it")
    ap.add_argument("--check", action="store_true", help="with --eval: fail unless the targets hold (redaction_eval.py --check)")
    ap.add_argument("--errors", type=int, default=0)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    docs = list(Gen(args.seed).corpus(args.docs))
    if not args.eval:
        for d in docs:
            print(json.dumps(d, ensure_ascii=False))
        return
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False, encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    cmd = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "redaction_eval.py"), "--data", f.name]
    cmd += (["--check"] if args.check else []) + (["--errors", str(args.errors)] if args.errors else [])
    try:
        sys.exit(subprocess.run(cmd + ["--"] + [c for c in args.command if c != "--"]).returncode)
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    main()
