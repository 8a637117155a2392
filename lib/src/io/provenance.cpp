// Provenance of outputs (io/provenance.hpp): how it is stored in tables, read back and
// compared. What it records: embed_provenance (pipeline/embed_provenance.cpp).
#include "io/provenance.hpp"

#include <nlohmann/json.hpp>

#include "dnamba/error.hpp"
#include "util/crc32.hpp"
#include "util/json_parse.hpp"

namespace dnamba {

std::string provenance_end_line(std::uint64_t rows, std::uint32_t crc) {
    nlohmann::ordered_json j;
    j["rows"] = rows;
    j["crc32"] = crc32_hex(crc);
    return std::string(k_provenance_end_line) + j.dump() + "\n";
}

std::string provenance_text(const std::string& line, const char* prefix) {
    const std::string p = prefix;
    if (line.compare(0, p.size(), p) != 0) return "";
    std::string text = line.substr(p.size());
    if (!text.empty() && text.back() == '\r') text.pop_back();
    return text;
}

std::string provenance_difference(const std::string& a, const std::string& b, const std::string& where) {
    if (a == b) return "";
    if (a.empty() || b.empty()) return a.empty() ? "no provenance vs some" : "some provenance vs none";
    const nlohmann::json ja = json_parse_strict(a, ErrorKind::input, where + ": provenance");
    const nlohmann::json jb = json_parse_strict(b, ErrorKind::input, where + ": provenance");
    if (!ja.is_object() || !jb.is_object()) fail(ErrorKind::input, where + ": provenance is not a JSON object");
    std::string out;
    auto add = [&](const std::string& key, const nlohmann::json* x, const nlohmann::json* y) {
        auto text = [](const nlohmann::json* v) {
            return !v ? std::string("(none)") : v->is_string() ? v->get<std::string>() : v->dump();
        };
        out += (out.empty() ? "" : ", ") + key + " " + text(x) + " vs " + text(y);
    };
    for (auto it = ja.begin(); it != ja.end(); ++it)
        if (!jb.contains(it.key()) || jb[it.key()] != it.value())
            add(it.key(), &it.value(), jb.contains(it.key()) ? &jb[it.key()] : nullptr);
    for (auto it = jb.begin(); it != jb.end(); ++it)
        if (!ja.contains(it.key())) add(it.key(), nullptr, &it.value());
    return out;
}

ProvenanceEnd parse_provenance_end(const std::string& json_text, const std::string& where) {
    const nlohmann::json j = json_parse_strict(json_text, ErrorKind::input, where + ": closing #dnamba-end line");
    if (!j.is_object() || !j.contains("rows") || !j["rows"].is_number_unsigned() || !j.contains("crc32") ||
        !j["crc32"].is_string() || j["crc32"].get<std::string>().size() != 8)
        fail(ErrorKind::input, where + ": closing #dnamba-end line is not {\"rows\":N,\"crc32\":\"xxxxxxxx\"}");
    ProvenanceEnd end;
    end.rows = j["rows"].get<std::uint64_t>();
    try {
        end.crc = static_cast<std::uint32_t>(std::stoul(j["crc32"].get<std::string>(), nullptr, 16));
    } catch (const std::exception&) {
        fail(ErrorKind::input, where + ": closing #dnamba-end line has a crc32 that is not hexadecimal");
    }
    return end;
}

TableReader::TableReader(const std::string& path, const std::string& what, bool strict)
    : path_(path), in_(path, std::ios::binary), strict_(strict) {
    if (!in_) fail(ErrorKind::input, path + ": cannot open");
    if (!std::getline(in_, header_)) fail(ErrorKind::input, path + ": empty file, expected " + what);
    line_no_ = 1;
    provenance_ = provenance_text(header_, k_provenance_line);
    if (!provenance_.empty() && !std::getline(in_, header_))
        fail(ErrorKind::input, path + ": ends after its #dnamba line, expected " + what);
    if (!provenance_.empty()) ++line_no_;
}

bool TableReader::next(std::string& line) {
    if (done_) return false;
    if (!std::getline(in_, line)) {
        done_ = true;
        if (!provenance_.empty())
            fail(ErrorKind::input, path_ + ": ends without its closing #dnamba-end line after " + std::to_string(rows_) +
                                       " row(s) (a truncated or unfinished file)");
        return false;
    }
    ++line_no_;
    const std::string where = path_ + ":" + std::to_string(line_no_);
    if (in_.eof() && (strict_ || !provenance_.empty()))  // a last line without '\n': a truncated file, not a finished table
        fail(ErrorKind::input, where + ": last line is incomplete (no newline)");
    if (!provenance_.empty()) {
        const std::string end_text = provenance_text(line, k_provenance_end_line);
        if (!end_text.empty()) {
            const ProvenanceEnd end = parse_provenance_end(end_text, where);
            const std::uint32_t crc = crc32_concat(prefix_crc_, crc_, bytes_);
            if (end.rows != rows_ || end.crc != crc)
                fail(ErrorKind::input, where + ": the data does not match its checksum (" + std::to_string(rows_) +
                                           " row(s), CRC-32 " + crc32_hex(crc) + "; the closing line says " +
                                           std::to_string(end.rows) + " row(s), " + crc32_hex(end.crc) + "): " +
                                           (prefix_what_.empty() ? "the file" : prefix_what_ + " or these rows") +
                                           " changed or damaged since it was written");
            if (in_.peek() != std::char_traits<char>::eof())
                fail(ErrorKind::input, where + ": lines follow the closing #dnamba-end line");
            done_ = true;
            return false;
        }
    }
    crc_ = crc32_update(crc_, line.data(), line.size());
    crc_ = crc32_update(crc_, "\n", 1);
    bytes_ += line.size() + 1;
    ++rows_;
    return true;
}

}  // namespace dnamba
