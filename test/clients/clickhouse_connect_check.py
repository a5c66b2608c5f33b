"""Drives fleetstream's read-only SQL interface with clickhouse-connect, unmodified, as an analyst would.

Prints one JSON document on stdout with what each call returned or raised; the assertions are in
test/sql-python-client.int-spec.ts. The API key comes from FLEETSTREAM_SQL_KEY (not an argument, so
that it does not show in process listings). Calls that the server should refuse are recorded with
their ClickHouse error code rather than raised, so the test sees every outcome in one run.

    FLEETSTREAM_SQL_KEY=fsk_... python clickhouse_connect_check.py --port 8123 --database fleetstream --device dev-1
"""

import argparse
import importlib.util
import json
import os
import sys
from typing import Any, Callable

import clickhouse_connect
from clickhouse_connect import common
from clickhouse_connect.driver.exceptions import Error


def outcome(call: Callable[[], Any]) -> dict[str, Any]:
    """What a call that should fail raised: the exception type and the ClickHouse code the client parsed."""
    try:
        return {"raised": None, "returned": repr(call())}
    except Error as error:
        return {"raised": type(error).__name__, "code": error.code, "message": str(error).strip().splitlines()[-1][:300]}


def epoch_ms(value: Any) -> int:
    return round(value.timestamp() * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--database", required=True)
    parser.add_argument("--device", required=True, help="a device whose readings are in telemetry_raw, bound as a parameter")
    args = parser.parse_args()
    key = os.environ["FLEETSTREAM_SQL_KEY"]

    def connect(password: str):
        # the user name is anything: the password (an API key) is the credential
        return clickhouse_connect.get_client(host=args.host, port=args.port, username="analyst", password=password, database=args.database)

    client = connect(key)
    report: dict[str, Any] = {
        "server_version": client.server_version,
        # 54405 when the server took the client's client_protocol_version probe, 0 when it refused it
        "protocol_version": client.protocol_version,
    }

    readings = client.query(
        "SELECT device_id, seq, event_time, metrics, source_topic FROM telemetry_raw FINAL ORDER BY device_id, seq"
    )
    report["readings"] = {
        "columns": list(readings.column_names),
        "rows": [
            {"device_id": device, "seq": seq, "event_time_ms": epoch_ms(at), "metrics": metrics, "source_topic": topic}
            for device, seq, at, metrics, topic in readings.result_rows
        ],
    }

    # server-side binding: {name:Type} placeholders, sent as param_<name>, typed by ClickHouse
    bound = client.query(
        "SELECT device_id, count() AS readings, max(seq) AS last_seq FROM telemetry_raw FINAL"
        " WHERE device_id = {device:String} AND seq >= {from_seq:Int64} GROUP BY device_id",
        parameters={"device": args.device, "from_seq": 2},
    )
    report["bound"] = [dict(zip(bound.column_names, row)) for row in bound.result_rows]
    injection = "x' OR 1=1; DROP TABLE telemetry_raw --\\"
    report["injection"] = {"sent": injection, "returned": client.query("SELECT {s:String} AS s", parameters={"s": injection}).first_row[0]}

    report["command"] = client.command("SELECT 1")

    streamed = {"rows": 0, "sum": 0}
    with client.query_row_block_stream("SELECT number FROM system.numbers LIMIT 200000") as blocks:
        for block in blocks:
            streamed["rows"] += len(block)
            streamed["sum"] += sum(row[0] for row in block)
    report["streamed"] = streamed

    if importlib.util.find_spec("pandas") is None:
        report["dataframe"] = {"skipped": "pandas is not installed"}
    else:
        frame = client.query_df("SELECT device_id, count() AS readings FROM telemetry_raw FINAL GROUP BY device_id ORDER BY device_id")
        report["dataframe"] = {"rows": frame.to_dict(orient="records")}

    report["refused"] = {
        "insert_statement": outcome(lambda: client.command("INSERT INTO telemetry_raw (device_id, seq) VALUES ('intruder', 1)")),
        # the client's own insert: DESCRIBE the table, then INSERT ... FORMAT Native with the rows in the body
        "insert_api": outcome(lambda: client.insert("telemetry_raw", [["intruder", 1]], column_names=["device_id", "seq"])),
        "file_function": outcome(lambda: client.query("SELECT file('/etc/hostname')")),
        "other_database": outcome(lambda: client.query("SELECT name FROM system.users")),
        # system.settings says every setting is readonly here, so the client refuses to send one itself ...
        "setting": outcome(lambda: client.query("SELECT 1", settings={"max_execution_time": 0})),
    }
    # ... and when told to send it anyway, the server refuses it
    common.set_setting("invalid_setting_action", "send")
    report["refused"]["setting_sent"] = outcome(lambda: client.query("SELECT 1", settings={"max_execution_time": 0}))
    client.close()

    report["wrong_password"] = outcome(lambda: connect("fsk_not_a_key"))
    json.dump(report, sys.stdout, default=str)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
