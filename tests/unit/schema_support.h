// schemas/*.schema.json for the unit tests: one schema file parsed by
// valijson, and a validator that says why an instance is invalid.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace mutuo::test {

// One schema file, `schemas/<name>.schema.json`, parsed by valijson.
class SchemaFile {
 public:
  explicit SchemaFile(const std::string& name) {
    std::string path = std::string(MUTUO_SCHEMA_DIR) + "/" + name + ".schema.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path);
    doc_ = nlohmann::json::parse(in);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(doc_);
    parser.populateSchema(adapter, schema_);
  }

  const nlohmann::json& doc() const { return doc_; }
  const nlohmann::json& example(std::size_t i) const { return doc_.at("examples").at(i); }

  // "" when `instance` is valid, else valijson's errors, one per line.
  std::string errors(const nlohmann::json& instance) const {
    valijson::Validator validator;  // strong types: "1" is not an integer
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(instance);
    if (validator.validate(schema_, target, &results)) return "";
    std::string out;
    valijson::ValidationResults::Error e;
    while (results.popError(e)) {
      for (const auto& c : e.context) out += c;
      out += ": " + e.description + "\n";
    }
    return out.empty() ? "invalid" : out;
  }
  bool valid(const nlohmann::json& instance) const { return errors(instance).empty(); }

 private:
  nlohmann::json doc_;
  valijson::Schema schema_;
};

// The schema named `name`, parsed once per test program.
inline const SchemaFile& schema_file(const std::string& name) {
  static std::map<std::string, std::unique_ptr<SchemaFile>> cache;
  auto& slot = cache[name];
  if (!slot) slot = std::make_unique<SchemaFile>(name);
  return *slot;
}

}  // namespace mutuo::test
