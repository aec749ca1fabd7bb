"""Hourly arrival counts (CSV with columns timestamp,arrivals) -> ArrivalRecords."""

import csv
from datetime import datetime, tzinfo
from pathlib import Path

from healthcare.encounters.ingest.records import ArrivalRecord, ParseResult, RecordError, parse_timestamp

REQUIRED_COLUMNS = ("timestamp", "arrivals")


def parse_arrivals_csv(path: Path, *, default_tz: tzinfo) -> ParseResult[ArrivalRecord]:
    """Parse hourly counts; naive timestamps are local time in default_tz.

    Two different local timestamps can name the same UTC hour where the clock jumps
    forward (the hour that does not exist folds onto the next): their counts are summed
    and a note says so, so every arrival in the file is counted exactly once. The same
    time twice is an error. In a zone offset by a fraction of an hour, each count goes to
    the UTC hour its local hour begins in.
    """
    result: ParseResult[ArrivalRecord] = ParseResult()
    name = path.name
    by_hour: dict = {}
    seen: dict[datetime, int] = {}
    merged = shifted = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                result.errors.append(RecordError(name, "", "the file is empty (expected a header line)"))
                return result
            header = [column.strip() for column in header]
            missing = [column for column in REQUIRED_COLUMNS if column not in header]
            if missing:
                result.errors.append(RecordError(f"{name} line 1", "", f"missing column(s) {', '.join(missing)}"))
                return result
            time_index, count_index = header.index("timestamp"), header.index("arrivals")
            for row in reader:
                line = reader.line_num
                if not row:
                    continue
                location = f"{name} line {line}"
                if len(row) != len(header):
                    result.errors.append(RecordError(location, "", f"expected {len(header)} columns, found {len(row)}"))
                    continue
                stamp_text = row[time_index].strip()
                try:
                    stamp = parse_timestamp(stamp_text, default_tz)
                except ValueError as exc:
                    result.errors.append(RecordError(location, "timestamp", str(exc)))
                    continue
                clock = datetime.fromisoformat(stamp_text)  # the local reading, as written
                if clock.minute or clock.second or clock.microsecond:
                    result.errors.append(RecordError(location, "timestamp", f"'{stamp_text}' is not on the hour"))
                    continue
                try:
                    arrivals = int(row[count_index])
                except ValueError:
                    result.errors.append(
                        RecordError(location, "arrivals", f"'{row[count_index]}' is not a whole number")
                    )
                    continue
                if arrivals < 0:
                    result.errors.append(RecordError(location, "arrivals", f"{arrivals} is negative"))
                    continue
                if clock in seen:
                    result.errors.append(
                        RecordError(location, "timestamp", f"'{stamp_text}' repeats line {seen[clock]}")
                    )
                    continue
                seen[clock] = line
                if stamp.minute:
                    shifted += 1
                    stamp = stamp.replace(minute=0)
                if stamp in by_hour:
                    merged += 1
                    previous = by_hour[stamp]
                    by_hour[stamp] = ArrivalRecord(stamp, previous.arrivals + arrivals, previous.location)
                else:
                    by_hour[stamp] = ArrivalRecord(stamp, arrivals, location)
    except UnicodeDecodeError as exc:
        result.errors.append(RecordError(name, "", f"not UTF-8 text (byte {exc.start})"))
    except csv.Error as exc:
        result.errors.append(RecordError(name, "", f"malformed CSV ({exc})"))
    result.records = sorted(by_hour.values(), key=lambda record: record.hour)
    if shifted:
        result.notes.append(
            f"{shifted} count(s) began inside a UTC hour (a zone offset by a fraction of an hour); "
            "each was placed in the UTC hour it begins in"
        )
    if merged:
        result.notes.append(
            f"{merged} local timestamp(s) fell on the same UTC hour as another (daylight-saving change); "
            "their counts were added together"
        )
    return result
