"""BPF maps: one class owning one map fd, typed by codecs."""

from purebpf.maps.codec import BytesCodec, Codec, CtypesCodec, IntCodec, StructCodec
from purebpf.maps.map import Map, MapSpec
from purebpf.sys.constants import MapType

__all__ = ["BytesCodec", "Codec", "CtypesCodec", "IntCodec", "Map", "MapSpec", "MapType", "StructCodec"]
