// xent._xent: the engine's entry points for the xent package (python/xent/).
#include "module.h"

#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "xent/error.h"

namespace xent::py {

void bind_config(nb::module_& m) {
  nb::class_<PyConfig>(m, "Config")
      .def_ro("preset", &PyConfig::preset)
      .def("to_toml", [](const PyConfig& c) { return to_toml(c.config); })
      .def("key_values", [](const PyConfig& c) { return key_values(c.config); });
  // load_config with the CLI's arguments: --preset, --config and the --set strings, so that
  // every message is the CLI's.
  m.def(
      "load_config",
      [](const std::string& preset, const std::string& path, const std::vector<std::string>& sets) {
        return PyConfig{load_config(preset, path, sets), preset};
      },
      nb::arg("preset"), nb::arg("path"), nb::arg("sets"));
  m.def("preset_list", &preset_list);
}

}  // namespace xent::py

NB_MODULE(_xent, m) {
  namespace nb = nanobind;
  // The engine's three kinds of failure, as the CLI's three exit codes tell them apart.
  nb::exception<xent::InputError>(m, "InputError", PyExc_ValueError);
  nb::exception<xent::DivergedError>(m, "DivergedError", PyExc_RuntimeError);
  nb::exception<xent::DeviceError>(m, "DeviceError", PyExc_RuntimeError);
  xent::py::bind_config(m);
  xent::py::bind_data(m);
  xent::py::bind_train(m);
  xent::py::bind_sweep(m);
  xent::py::bind_dislib(m);
  xent::py::bind_probe_factors(m);
}
