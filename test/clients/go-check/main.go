// The SQL interface through clickhouse-go v2 over HTTP, the driver of Grafana's ClickHouse data
// source, opened the way the plugin opens it (clickhouse.OpenDB, Protocol HTTP, gzip compression),
// doing what the plugin does at "Save & test" and in its query builder, then reading telemetry.
// Run by test/sql-go-client.int-spec.ts; the API key comes in FLEETSTREAM_SQL_KEY. Prints one JSON
// object; each step records what the driver returned or the error it gave.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

const streamedRows = 300_000

type outcome struct {
	Value   any    `json:"value,omitempty"`
	Error   string `json:"error,omitempty"`
	Code    int32  `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

func step(run func() (any, error)) outcome {
	value, err := run()
	if err == nil {
		return outcome{Value: value}
	}
	var exception *clickhouse.Exception
	if errors.As(err, &exception) {
		return outcome{Error: "clickhouse.Exception", Code: exception.Code, Message: exception.Message}
	}
	return outcome{Error: fmt.Sprintf("%T", err), Message: err.Error()}
}

// open connects as Grafana's data source does with protocol HTTP (its Connect in pkg/plugin/driver.go).
func open(addr, database, key string) *sql.DB {
	return clickhouse.OpenDB(&clickhouse.Options{
		Addr:        []string{addr},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Username: "default", Password: key, Database: database},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionGZIP},
		ClientInfo:  clickhouse.ClientInfo{Products: []struct{ Name, Version string }{{Name: "grafana", Version: "12.0.0"}}},
		DialTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second,
		Settings:    clickhouse.Settings{},
	})
}

type reading struct {
	DeviceID    string             `json:"device_id"`
	Seq         int64              `json:"seq"`
	EventTimeMs int64              `json:"event_time_ms"`
	Metrics     map[string]float64 `json:"metrics"`
	SourceTopic string             `json:"source_topic"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8123", "host:port of the SQL interface")
	database := flag.String("database", "fleetstream", "the fleetstream database")
	device := flag.String("device", "", "the device whose readings are read back")
	flag.Parse()
	key := os.Getenv("FLEETSTREAM_SQL_KEY")
	ctx := context.Background()
	db := open(*addr, *database, key)
	defer db.Close()
	report := map[string]any{}

	// "Save & test": the plugin's Connect pings, then reads the version (CheckMinServerVersion)
	report["ping"] = step(func() (any, error) { return true, db.PingContext(ctx) })
	report["version"] = step(func() (any, error) {
		var version string
		return version, db.QueryRowContext(ctx, "SELECT version()").Scan(&version)
	})
	// the query builder's lists: databases, tables, columns
	report["databases"] = step(func() (any, error) { return strings(db.QueryContext(ctx, "SHOW DATABASES")) })
	report["tables"] = step(func() (any, error) {
		return strings(db.QueryContext(ctx, fmt.Sprintf("SHOW TABLES FROM `%s`", *database)))
	})
	report["columns"] = step(func() (any, error) {
		rows, err := db.QueryContext(ctx, fmt.Sprintf("DESC TABLE `%s`.`telemetry_raw`", *database))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		names, _ := rows.Columns()
		types := map[string]string{}
		for rows.Next() {
			cells := make([]any, len(names))
			values := make([]string, len(names))
			for i := range values {
				cells[i] = &values[i]
			}
			if err := rows.Scan(cells...); err != nil {
				return nil, err
			}
			types[values[0]] = values[1]
		}
		return types, rows.Err()
	})
	// a server-side {name:Type} parameter, scanned into Go types: DateTime64, Map(LowCardinality(String), Float64), LowCardinality(String)
	report["readings"] = step(func() (any, error) {
		bound := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"device": *device}))
		rows, err := db.QueryContext(bound, "SELECT device_id, seq, event_time, metrics, source_topic FROM telemetry_raw FINAL WHERE device_id = {device:String} ORDER BY seq")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		readings := []reading{}
		for rows.Next() {
			var r reading
			var eventTime time.Time
			if err := rows.Scan(&r.DeviceID, &r.Seq, &eventTime, &r.Metrics, &r.SourceTopic); err != nil {
				return nil, err
			}
			r.EventTimeMs = eventTime.UnixMilli()
			readings = append(readings, r)
		}
		return readings, rows.Err()
	})
	// clickhouse.Named binds on the client (a quoted literal): a quote in the value stays a value
	report["named"] = step(func() (any, error) {
		sent := "x' OR 1=1 --\\"
		var returned string
		err := db.QueryRowContext(ctx, "SELECT @s", clickhouse.Named("s", sent)).Scan(&returned)
		return map[string]string{"sent": sent, "returned": returned}, err
	})
	// a Grafana time series panel's query, its $__timeFilter macro expanded as the plugin expands it
	report["time_series"] = step(func() (any, error) {
		from, to := time.Now().Add(-time.Hour).Unix(), time.Now().Add(time.Minute).Unix()
		query := fmt.Sprintf("SELECT toStartOfMinute(event_time) AS time, avg(metrics['temperature']) AS temperature FROM telemetry_raw "+
			"WHERE event_time >= toDateTime(%d) AND event_time <= toDateTime(%d) AND device_id = {device:String} GROUP BY time ORDER BY time", from, to)
		rows, err := db.QueryContext(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"device": *device})), query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		points := 0
		for rows.Next() {
			var at time.Time
			var temperature float64
			if err := rows.Scan(&at, &temperature); err != nil {
				return nil, err
			}
			points++
		}
		return points, rows.Err()
	})
	report["streamed"] = step(func() (any, error) {
		rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT number FROM numbers(%d)", streamedRows))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var count, sum uint64
		for rows.Next() {
			var number uint64
			if err := rows.Scan(&number); err != nil {
				return nil, err
			}
			count++
			sum += number
		}
		return map[string]uint64{"rows": count, "sum": sum}, rows.Err()
	})
	report["refused_drop"] = step(func() (any, error) {
		_, err := db.ExecContext(ctx, "DROP TABLE telemetry_raw")
		return nil, err
	})
	// what the data source sends when its "row limit" is on: a setting, which the server keeps
	report["refused_setting"] = step(func() (any, error) {
		limited := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"limit": 10}))
		return strings(db.QueryContext(limited, "SELECT 1"))
	})
	report["wrong_password"] = step(func() (any, error) {
		wrong := open(*addr, *database, "fsk_wrong")
		defer wrong.Close()
		return nil, wrong.PingContext(ctx)
	})

	out, err := json.Marshal(report)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
}

// strings reads the first column of every row.
func strings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	values := []string{}
	for rows.Next() {
		var value string
		if err := rows.Scan(&value); err != nil {
			return nil, err
		}
		values = append(values, value)
	}
	return values, rows.Err()
}
