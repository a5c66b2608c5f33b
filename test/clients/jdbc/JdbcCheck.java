import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The SQL interface through the ClickHouse JDBC driver (com.clickhouse:clickhouse-jdbc, jdbc-v2 over
 * HTTP), doing what DBeaver does on connect and while browsing, then reading telemetry. Run by
 * test/sql-jdbc-client.int-spec.ts as a single-file source program:
 *   java -cp '.tools/jdbc-client/*' JdbcCheck.java URL DEVICE   (the API key in FLEETSTREAM_SQL_KEY)
 * Prints one JSON object; each step records what the driver returned or the SQLException it threw.
 */
public class JdbcCheck {
  private static final int STREAMED_ROWS = 300_000;

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String device = args[1];
    Map<String, Object> report = new LinkedHashMap<>();
    // the driver's default asks for ClickHouse's compressed response, which the interface refuses with a message saying so
    report.put("default_compression", step(() -> {
      try (Connection connection = DriverManager.getConnection(url, credentials(System.getenv("FLEETSTREAM_SQL_KEY"))); Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT 1")) {
        return rs.next();
      }
    }));
    try (Connection connection = DriverManager.getConnection(url, dbeaverProperties())) {
      String database = connection.getSchema();
      DatabaseMetaData meta = connection.getMetaData();
      report.put("product", step(() -> meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion()));
      report.put("driver", step(() -> meta.getDriverName() + " " + meta.getDriverVersion()));
      report.put("schema", database);
      report.put("catalogs", step(() -> column(meta.getCatalogs(), "TABLE_CAT")));
      report.put("schemas", step(() -> column(meta.getSchemas(), "TABLE_SCHEM")));
      report.put("table_types", step(() -> column(meta.getTableTypes(), "TABLE_TYPE")));
      report.put("tables", step(() -> column(meta.getTables(null, database, "%", null), "TABLE_NAME")));
      report.put("columns", step(() -> columnTypes(meta.getColumns(null, database, "telemetry_raw", "%"))));
      report.put("primary_keys", step(() -> column(meta.getPrimaryKeys(null, database, "telemetry_raw"), "COLUMN_NAME")));
      report.put("type_info", step(() -> column(meta.getTypeInfo(), "TYPE_NAME").size()));
      report.put("dbeaver", dbeaverBrowsing(connection, database));
      report.put("readings", step(() -> readings(connection, device)));
      report.put("result_types", step(() -> resultTypes(connection)));
      report.put("streamed", step(() -> streamed(connection)));
      report.put("refused_drop", step(() -> executeQuery(connection, "DROP TABLE telemetry_raw")));
      report.put("refused_setting", step(() -> executeQuery(connection, "SELECT 1 SETTINGS readonly = 0")));
    }
    report.put("wrong_password", step(() -> {
      Properties wrong = dbeaverProperties();
      wrong.setProperty("password", "fsk_wrong");
      try (Connection connection = DriverManager.getConnection(url, wrong); Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT 1")) {
        return rs.next();
      }
    }));
    System.out.println(Json.of(report));
  }

  private static Properties credentials(String key) {
    Properties properties = new Properties();
    properties.setProperty("user", "default");
    properties.setProperty("password", key);
    return properties;
  }

  /**
   * The connection properties DBeaver's ClickHouse connection sets (its ClickhouseDataSource: a session
   * id of its own, unknown keys ignored, the client's time zone), plus compress=false, the one property
   * a DBeaver user adds in the driver properties.
   */
  private static Properties dbeaverProperties() {
    Properties properties = credentials(System.getenv("FLEETSTREAM_SQL_KEY"));
    properties.setProperty("compress", "false");
    properties.setProperty("ignore_unknown_config_key", "true");
    properties.setProperty("use_time_zone", "UTC");
    properties.setProperty("clickhouse_setting_session_id", "sess_" + java.util.UUID.randomUUID());
    return properties;
  }

  /** The statements DBeaver's ClickHouse plugin runs itself on connect and while browsing a table. */
  private static Map<String, Object> dbeaverBrowsing(Connection connection, String database) {
    Map<String, Object> outcomes = new LinkedHashMap<>();
    outcomes.put("version", step(() -> firstColumn(connection.prepareStatement("SELECT VERSION()")).get(0)));
    outcomes.put("databases", step(() -> firstColumn(connection.prepareStatement("SHOW DATABASES"))));
    outcomes.put("table_engines", step(() -> firstColumn(connection.prepareStatement("SELECT name FROM system.table_engines")).contains("ReplacingMergeTree")));
    outcomes.put("tables", step(() -> {
      PreparedStatement statement = connection.prepareStatement("SELECT name as TABLE_NAME, engine as TABLE_TYPE, database as TABLE_SCHEM, comment as REMARKS, * FROM system.tables\nWHERE database = ?");
      statement.setString(1, database);
      return firstColumn(statement);
    }));
    outcomes.put("create_table", step(() -> firstColumn(connection.prepareStatement("SHOW CREATE TABLE `" + database + "`.`telemetry_raw`")).get(0).startsWith("CREATE TABLE")));
    // DBeaver runs this on a connection marked read-only, and only logs a failure
    outcomes.put("set_readonly", step(() -> connection.createStatement().execute("SET readonly=1")));
    return outcomes;
  }

  private static List<String> firstColumn(PreparedStatement statement) throws SQLException {
    try (statement; ResultSet rs = statement.executeQuery()) {
      List<String> values = new ArrayList<>();
      while (rs.next()) values.add(rs.getString(1));
      return values;
    }
  }

  /** The device's readings, the device bound as a PreparedStatement parameter, each value as getObject gives it. */
  private static List<Map<String, Object>> readings(Connection connection, String device) throws SQLException {
    String sql = "SELECT device_id, seq, event_time, metrics, source_topic FROM telemetry_raw FINAL WHERE device_id = ? ORDER BY seq";
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setString(1, device);
      try (ResultSet rs = statement.executeQuery()) {
        List<Map<String, Object>> rows = new ArrayList<>();
        while (rs.next()) {
          Map<String, Object> row = new LinkedHashMap<>();
          row.put("device_id", rs.getString("device_id"));
          row.put("seq", rs.getLong("seq"));
          row.put("event_time_ms", rs.getObject("event_time", OffsetDateTime.class).toInstant().toEpochMilli());
          row.put("event_time_class", rs.getObject("event_time").getClass().getName());
          Object metrics = rs.getObject("metrics");
          row.put("metrics_class", metrics.getClass().getName());
          row.put("metrics", new TreeMap<>((Map<?, ?>) metrics));
          row.put("source_topic", rs.getString("source_topic"));
          rows.add(row);
        }
        return rows;
      }
    }
  }

  /** The column types as the driver reports them in ResultSetMetaData. */
  private static Map<String, Object> resultTypes(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT event_time, metrics, source_topic, toDecimal64(1.5, 2) AS d, [1, 2] AS a FROM telemetry_raw LIMIT 1")) {
      ResultSetMetaData meta = rs.getMetaData();
      Map<String, Object> types = new LinkedHashMap<>();
      for (int i = 1; i <= meta.getColumnCount(); i++) types.put(meta.getColumnName(i), meta.getColumnTypeName(i) + " / " + meta.getColumnClassName(i));
      return types;
    }
  }

  /** A result far larger than one engine block (about 65,000 rows), read row by row through the ResultSet. */
  private static Map<String, Object> streamed(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SELECT number FROM numbers(" + STREAMED_ROWS + ")")) {
      long rows = 0;
      long sum = 0;
      while (rs.next()) {
        rows++;
        sum += rs.getLong(1);
      }
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("rows", rows);
      result.put("sum", sum);
      return result;
    }
  }

  private static boolean executeQuery(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery(sql)) {
      return rs.next();
    }
  }

  private static List<String> column(ResultSet rs, String name) throws SQLException {
    try (rs) {
      List<String> values = new ArrayList<>();
      while (rs.next()) values.add(rs.getString(name));
      return values;
    }
  }

  private static Map<String, Object> columnTypes(ResultSet rs) throws SQLException {
    try (rs) {
      Map<String, Object> types = new LinkedHashMap<>();
      while (rs.next()) types.put(rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME") + " / " + rs.getInt("DATA_TYPE"));
      return types;
    }
  }

  interface Step {
    Object run() throws Exception;
  }

  /** {"value": …} when the step worked, {"error": class, "code": SQLException.getErrorCode(), "message": …} when it threw. */
  private static Map<String, Object> step(Step step) {
    Map<String, Object> outcome = new LinkedHashMap<>();
    try {
      outcome.put("value", step.run());
    } catch (Exception error) {
      outcome.put("error", error.getClass().getName());
      if (error instanceof SQLException) outcome.put("code", ((SQLException) error).getErrorCode());
      outcome.put("message", String.valueOf(error.getMessage()));
    }
    return outcome;
  }

  /** JSON for the report's maps, lists, strings, numbers and booleans (the JDK has no JSON writer). */
  static final class Json {
    static String of(Object value) {
      if (value == null) return "null";
      if (value instanceof Number || value instanceof Boolean) return value.toString();
      if (value instanceof Map) {
        List<String> members = new ArrayList<>();
        ((Map<?, ?>) value).forEach((key, member) -> members.add(of(String.valueOf(key)) + ":" + of(member)));
        return "{" + String.join(",", members) + "}";
      }
      if (value instanceof List) {
        List<String> items = new ArrayList<>();
        for (Object item : (List<?>) value) items.add(of(item));
        return "[" + String.join(",", items) + "]";
      }
      StringBuilder text = new StringBuilder("\"");
      for (char c : value.toString().toCharArray()) {
        if (c == '"' || c == '\\') text.append('\\').append(c);
        else if (c < 0x20) text.append(String.format("\\u%04x", (int) c));
        else text.append(c);
      }
      return text.append('"').toString();
    }
  }
}
