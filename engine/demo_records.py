"""The record fields (분류, 보존기간, 공개 구분) the demo city's drafters chose for their 전자결재
documents, by title: once approved, each enters the records register with them. Personnel and
citizens' personal matters are closed (비공개, 제5호 or 제6호), a contract under negotiation partly
open (부분공개, 제7호); the rest open."""

from __future__ import annotations

from typing import Any

# title → (분류, 보존기간, 공개 구분, 비공개 근거)
RECORD_FIELDS: dict[str, tuple[str, str, str, str]] = {
    "2026년 하반기 보도블록 정비 계획": ("보도 정비", "5년", "공개", ""),
    "어린이보호구역 과속방지턱 설치 협조 요청": ("교통안전시설 관리", "3년", "공개", ""),
    "2026년 하반기 승진 인사 계획": ("인사 관리", "준영구", "비공개", "제5호"),
    "교통안전 시설물 정비 용역 계약": ("교통안전시설 관리", "5년", "부분공개", "제7호"),
    "경로당 냉방기 수리비 지출": ("노인복지 시설 운영", "5년", "공개", ""),
    "미세먼지 신호등 유지보수 용역 계약": ("대기환경 관리", "5년", "부분공개", "제7호"),
    "재활용 선별장 설비 교체 예산 집행": ("재활용 선별장 운영", "10년", "공개", ""),
    "동절기 제설자재 구매": ("도로 유지관리", "5년", "공개", ""),
    "버스정보안내기 설치 계약": ("대중교통 정책", "5년", "공개", ""),
    "저소득층 난방비 지원 계획": ("기초생활보장", "10년", "비공개", "제6호"),
    "공영주차장 요금 조정안": ("주차 관리", "10년", "공개", ""),
    "종량제 봉투 디자인 변경": ("생활폐기물 수거", "3년", "공개", ""),
    "2027년 주요업무계획 수립 보고": ("시정 기획", "영구", "공개", ""),
    "하천 수질 측정 결과 보고 및 정화 예산": ("환경시설 관리", "10년", "공개", ""),
    "무더위쉼터 운영 결과 보고": ("노인복지 시설 운영", "3년", "공개", ""),
    "시청 앞 보행환경 개선 공사 설계": ("보도 정비", "30년", "공개", ""),
    "폐현수막 재활용 시범사업 추진계획": ("생활폐기물 수거", "3년", "공개", ""),
    "2027년 상반기 정기인사 계획": ("인사 관리", "준영구", "비공개", "제5호"),
    "교통약자 이동지원센터 차량 구입": ("대중교통 정책", "5년", "공개", ""),
    "택시 승차대 이전 설치": ("대중교통 정책", "5년", "공개", ""),
    "가로수 정비 예산 요청": ("도로 유지관리", "3년", "공개", ""),
    "공원 화장실 리모델링 계획": ("환경시설 관리", "10년", "공개", ""),
}


def record_fields(title: str) -> dict[str, Any]:
    """The record fields of the demo document ``title`` as its 기안 form holds them (none if unknown)."""
    found = RECORD_FIELDS.get(title)
    if found is None:
        return {}
    unit, retention, disclosure, ground = found
    return {"record_unit": unit, "retention": retention, "disclosure": disclosure,
            **({"disclosure_ground": ground} if ground else {})}
