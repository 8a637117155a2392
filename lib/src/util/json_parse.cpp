// See json_parse.hpp.
#include "util/json_parse.hpp"

#include <set>
#include <vector>

namespace dnamba {

nlohmann::json json_parse_strict(const char* begin, const char* end, ErrorKind kind, const std::string& what) {
    using nlohmann::json;
    // One key set per open object or array (arrays hold none), so that a key event always
    // belongs to the innermost open container.
    std::vector<std::set<std::string>> open;
    const json::parser_callback_t check = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
        switch (event) {
        case json::parse_event_t::object_start:
        case json::parse_event_t::array_start:
            if (open.size() >= static_cast<std::size_t>(k_json_max_depth))
                fail(kind, what + " nests JSON deeper than " + std::to_string(k_json_max_depth) + " levels");
            open.emplace_back();
            break;
        case json::parse_event_t::object_end:
        case json::parse_event_t::array_end:
            if (!open.empty()) open.pop_back();
            break;
        case json::parse_event_t::key:
            if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second)
                fail(kind, what + " has the key \"" + parsed.get<std::string>() + "\" twice in one object");
            break;
        case json::parse_event_t::value: break;
        }
        return true;
    };
    try {
        return json::parse(begin, end, check);
    } catch (const json::exception& e) {
        fail(kind, what + " is not valid JSON: " + e.what());
    }
}

}  // namespace dnamba
